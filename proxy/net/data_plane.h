#pragma once
// The worker threads, their listeners and everything on the request path.
// Owned by the `serve` command on the main thread.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proxy/core/snapshot.h"
#include "proxy/net/worker.h"

namespace albemu::log {
class AccessLog;
class Metrics;
}  // namespace albemu::log

namespace albemu::net {

struct DataPlaneOptions {
  unsigned workers = 1;
  bool ephemeral_ports = false;          // bind port 0 instead of each rule's port
  std::string listen_address;            // non-empty: bind here instead of each rule's IPAddress
  log::AccessLog* access_log = nullptr;  // may be null: no access log
  log::Metrics* metrics = nullptr;       // must outlive the DataPlane
  ClientTimeouts timeouts;
  std::optional<uint64_t> log_sample_seed;  // see Worker; `serve --log-sample-seed`
};

class DataPlaneImpl;

class DataPlane {
 public:
  explicit DataPlane(DataPlaneOptions options);
  ~DataPlane();

  /// Starts the worker threads. Call once, before apply().
  void start();

  /// Main thread. Makes `snapshot` current: binds listeners for new forwarding rules (one
  /// SO_REUSEPORT socket per worker), closes those of removed rules, rebinds changed ones, and
  /// posts the snapshot to every worker. In-flight requests finish on the snapshot they pinned.
  /// On a bind failure returns errors naming the rule and address, and changes nothing.
  config::ConfigErrors apply(const std::shared_ptr<const core::ConfigSnapshot>& snapshot);

  /// Forwarding rule name -> "ip:port" actually bound.
  std::map<std::string, std::string> bound_addresses() const;

  /// Stops accepting, lets in-flight exchanges finish for at most `grace`, then stops workers.
  void drain_and_stop(std::chrono::milliseconds grace);

  std::size_t active_connections() const;

 private:
  std::unique_ptr<DataPlaneImpl> impl_;
};

}  // namespace albemu::net
