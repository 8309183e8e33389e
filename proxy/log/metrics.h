#pragma once
// Counters and histograms recorded on the request path (per-worker shards, no locks on the
// hot path) and rendered as Prometheus text by the admin endpoint.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::log {

class MetricsImpl;

/// Requests of one series, summed over the workers.
struct RequestCount {
  std::string forwarding_rule;
  std::string url_map;
  std::string backend_service;  // empty when the load balancer answered without a backend
  std::string code_class;       // "2xx", "5xx", ... or "none" (no status was sent)
  std::string protocol;         // the client's: "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"
  uint64_t count = 0;
};

/// Request durations of one forwarding rule, summed over the workers.
struct RuleLatency {
  std::string forwarding_rule;
  uint64_t count = 0;
  int64_t sum_micros = 0;
};

/// Everything render_prometheus() shows, as values (for the admin endpoint's GET /stats).
struct MetricsTotals {
  std::vector<RequestCount> requests;  // sorted by series
  std::vector<RuleLatency> latencies;  // sorted by forwarding rule
  int64_t active_connections = 0;
  uint64_t config_generation = 0;
  uint64_t retained_generations = 0;
  uint64_t reloads_succeeded = 0;
  uint64_t reloads_failed = 0;
};

class Metrics {
 public:
  explicit Metrics(unsigned workers);
  ~Metrics();

  /// Worker `worker` finished a request. `code` is the status sent (0 if none); `protocol` is
  /// the client's, as the access log writes it ("HTTP/2.0").
  void record_request(unsigned worker, std::string_view forwarding_rule, std::string_view url_map,
                      std::string_view backend_service, int code, std::string_view protocol,
                      std::chrono::microseconds latency);
  void connection_opened(unsigned worker);
  void connection_closed(unsigned worker);
  void set_config_generation(uint64_t generation);
  /// Old generations still in memory: those a request in flight holds, and those waiting to be
  /// freed after a reload.
  void set_retained_generations(uint64_t count);
  void config_reload(bool ok);

  int64_t active_connections() const;

  /// Prometheus text exposition format.
  std::string render_prometheus() const;

  /// The same counters as values. Read side only: takes each shard's lock once, like
  /// render_prometheus(); any thread.
  MetricsTotals totals() const;

 private:
  std::unique_ptr<MetricsImpl> impl_;
};

}  // namespace albemu::log
