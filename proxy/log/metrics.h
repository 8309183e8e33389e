#pragma once
// Counters and histograms recorded on the request path (per-worker shards, no locks on the
// hot path) and rendered as Prometheus text by the admin endpoint.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace albemu::log {

class MetricsImpl;

class Metrics {
 public:
  explicit Metrics(unsigned workers);
  ~Metrics();

  /// Worker `worker` finished a request. `code` is the status sent (0 if none).
  void record_request(unsigned worker, std::string_view forwarding_rule, std::string_view url_map,
                      std::string_view backend_service, int code,
                      std::chrono::microseconds latency);
  void connection_opened(unsigned worker);
  void connection_closed(unsigned worker);
  void set_config_generation(uint64_t generation);
  void config_reload(bool ok);

  int64_t active_connections() const;

  /// Prometheus text exposition format.
  std::string render_prometheus() const;

 private:
  std::unique_ptr<MetricsImpl> impl_;
};

}  // namespace albemu::log
