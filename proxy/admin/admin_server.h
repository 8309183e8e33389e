#pragma once
// The admin HTTP endpoint of `albemu serve` (default 127.0.0.1:9901):
//   GET  /healthz   200 "ok" while the process runs
//   GET  /ready     200 "ready" when a config is serving and the last reload succeeded;
//                   503 with the reload error otherwise (the old config keeps serving)
//   GET  /metrics   Prometheus text
//   GET  /config    the loaded resources as JSON, plus "generation" and "lastReloadError"
//   POST /reload    reloads the config now; 200 with {"generation":N} or 500 with the errors
//                   (with a token set: 401 unless `Authorization: Bearer <token>` matches)
//   GET  /route?url=URL[&method=M][&header=Name:%20value]...[&forwardingRule=NAME]
//                   core::explain_route's JSON for that request
//   GET  /stats     live request counts as JSON (admin::stats_to_json), plus `listeners`:
//                   forwarding rule -> "ip:port" bound
//   GET  /          the console: an HTML page drawing the load balancer from /config, /stats
//                   and /route (self-contained; its Content-Security-Policy forbids external loads)
// Runs on the caller's io_context; the hooks are called on that io_context's thread. It only
// ever answers these paths: whatever Host a request names, nothing is proxied from here.

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "proxy/core/snapshot.h"
#include "proxy/log/metrics.h"

namespace albemu::admin {

/// What the endpoint reads from, and the one thing it can do (reload).
struct AdminHooks {
  /// The snapshot being served; never null once the server is serving.
  std::function<std::shared_ptr<const core::ConfigSnapshot>()> snapshot;
  /// Empty when the last reload (or the initial load) succeeded.
  std::function<std::string()> last_reload_error;
  std::function<std::string()> metrics_text;
  /// The counters behind GET /stats; unset: /stats answers 404.
  std::function<log::MetricsTotals()> metrics_totals;
  /// Forwarding rule name -> "ip:port" bound (GET /stats's `listeners`); unset: left out.
  std::function<std::map<std::string, std::string>()> listeners;
  /// Reloads synchronously; returns the error text, empty on success.
  std::function<std::string()> reload;
};

}  // namespace albemu::admin

namespace albemu::control {
class ControlListener;
}  // namespace albemu::control

namespace albemu::admin {

class AdminServer {
 public:
  /// With a non-empty `token`, every state-changing call (POST /reload) must carry
  /// `Authorization: Bearer <token>`; reads stay open.
  AdminServer(boost::asio::io_context& io_context, AdminHooks hooks, std::string token = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// Binds `host_port` ("127.0.0.1:9901", "[::1]:0"; port 0 picks a free port) and starts
  /// accepting. Returns the error (bad address, bind failure), if any.
  boost::system::error_code start(const std::string& host_port);

  /// Closes the listener; open admin connections end after their current request.
  void stop();

  /// "ip:port" bound.
  std::string address() const;

 private:
  std::shared_ptr<control::ControlListener> listener_;
};

}  // namespace albemu::admin
