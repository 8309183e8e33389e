#pragma once
// The Cloud Run stand-in's answer: a JSON echo of what reached the backend.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace albemu::net {

struct StandinIdentity {
  std::string service;   // K_SERVICE
  std::string revision;  // K_REVISION
  std::string tag;       // empty: untagged
};

struct EchoRequest {
  std::string_view method;
  std::string_view target;                                             // path + "?query"
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // in received order
  std::size_t body_length = 0;
};

/// The JSON body the stand-in answers with:
/// {"service","revision","tag","method","path","query","headers":{name:[values]},"bodyLength"}.
/// Header names are lower-cased.
std::string echo_json(const StandinIdentity& identity, const EchoRequest& request);

}  // namespace albemu::net
