#pragma once
// The h2c stand-ins of `albemu serve`. A Cloud Run service without a URL is answered by the
// built-in stand-in inside the request; one that declares useHttp2 is spoken to in h2c, so it
// gets a real one instead: a StandinServer in h2c (the one `albemu standin --http2` runs) on
// 127.0.0.1, one per service and tag, each on a thread of its own. Its URL stands in the loaded
// config before the config is built, so the load balancer reaches it like any declared URL.

#include <map>
#include <memory>
#include <string>

#include "config/model/resources.h"
#include "proxy/standin/standin_server.h"

namespace albemu::cli {

class H2cStandins {
 public:
  /// Gives each useHttp2 service of `config` (and each of its tags) that has no URL the URL of
  /// its h2c stand-in, starting those not running yet; the others keep serving (a reload
  /// keeps the stand-in and its connections). Main thread, before the config is built.
  void provide(model::Config& config);

  /// Stops the stand-ins that `applied` (the config now serving) no longer uses.
  void keep_only(const model::Config& applied);

 private:
  struct Running {
    std::string url;
    std::unique_ptr<standin::StandinServer> server;
  };
  /// Running stand-ins by "project/region/service/tag" (tag empty: the untagged URL).
  std::map<std::string, Running> running_;
};

}  // namespace albemu::cli
