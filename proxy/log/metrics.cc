#include "proxy/log/metrics.h"

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace albemu::log {
namespace {

// Upper bounds in seconds of albemu_request_duration_seconds, in microseconds.
constexpr std::array<int64_t, 15> kBucketMicros = {
    1'000,   2'500,     5'000,     10'000,    25'000,     50'000,     100'000,   250'000,
    500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};
constexpr std::array<std::string_view, 15> kBucketLabels = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",   "1",      "2.5",   "5",    "10",    "30",   "60"};

struct Histogram {
  std::array<uint64_t, kBucketMicros.size()> buckets{};  // non-cumulative counts
  uint64_t count = 0;
  int64_t sum_micros = 0;

  void add(int64_t micros) {
    for (std::size_t i = 0; i < kBucketMicros.size(); ++i) {
      if (micros <= kBucketMicros[i]) {
        ++buckets[i];
        break;
      }
    }
    ++count;
    sum_micros += micros;
  }
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
    count += other.count;
    sum_micros += other.sum_micros;
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

// Request counter labels joined with '\0' (which never occurs in a label value we set).
constexpr char kSeparator = '\0';

std::string_view code_class(int code) {
  static constexpr std::array<std::string_view, 6> kClasses = {"none", "1xx", "2xx",
                                                               "3xx",  "4xx", "5xx"};
  if (code < 100 || code > 599) return kClasses[0];
  return kClasses[static_cast<std::size_t>(code / 100)];
}

/// One worker's counters. Only its worker writes; the mutex is taken by render() too, so it is
/// uncontended on the hot path.
struct alignas(64) Shard {
  std::mutex mutex;
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> requests;
  std::unordered_map<std::string, Histogram, StringHash, std::equal_to<>> durations;
  std::string key_buffer;  // reused to build lookup keys without allocating
  std::atomic<int64_t> active_connections{0};

  // The series of the previous request: consecutive requests mostly share it, and comparing
  // three short strings costs less than building and hashing the key. Elements of the maps
  // are never erased, so the pointers stay valid.
  std::string last_rule;
  std::string last_url_map;
  std::string last_backend;
  std::string_view last_class;
  std::string last_protocol;
  uint64_t* last_counter = nullptr;
  Histogram* last_histogram = nullptr;
};

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_label(std::string& out, std::string_view name, std::string_view value, bool first) {
  if (!first) out += ',';
  out += name;
  out += "=\"";
  append_escaped(out, value);
  out += '"';
}

std::string format_seconds(int64_t micros) {
  char buffer[32];
  const auto n = std::snprintf(buffer, sizeof buffer, "%.6f", static_cast<double>(micros) / 1e6);
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace

class MetricsImpl {
 public:
  explicit MetricsImpl(unsigned workers) : shards_(workers == 0 ? 1 : workers) {}

  Shard& shard(unsigned worker) { return shards_[worker % shards_.size()]; }

  /// The shards summed into sorted maps (stable output), each shard under its own lock.
  struct Merged {
    std::map<std::string, uint64_t, std::less<>> requests;
    std::map<std::string, Histogram, std::less<>> durations;
  };
  Merged merged() {
    Merged out;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      for (const auto& [key, count] : shard.requests) out.requests[key] += count;
      for (const auto& [rule, histogram] : shard.durations) out.durations[rule].merge(histogram);
    }
    return out;
  }

  std::vector<Shard> shards_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> retained_{0};
  std::atomic<uint64_t> reload_success_{0};
  std::atomic<uint64_t> reload_failure_{0};
};

Metrics::Metrics(unsigned workers) : impl_(std::make_unique<MetricsImpl>(workers)) {}
Metrics::~Metrics() = default;

void Metrics::record_request(unsigned worker, std::string_view forwarding_rule,
                             std::string_view url_map, std::string_view backend_service, int code,
                             std::string_view protocol, std::chrono::microseconds latency) {
  Shard& shard = impl_->shard(worker);
  std::lock_guard lock(shard.mutex);
  const auto micros = latency.count() < 0 ? 0 : latency.count();
  const std::string_view code_class_name = code_class(code);
  if (shard.last_counter != nullptr && code_class_name == shard.last_class &&
      forwarding_rule == shard.last_rule && url_map == shard.last_url_map &&
      backend_service == shard.last_backend && protocol == shard.last_protocol) {
    ++*shard.last_counter;
    shard.last_histogram->add(micros);
    return;
  }
  std::string& key = shard.key_buffer;
  key.assign(forwarding_rule);
  key += kSeparator;
  key += url_map;
  key += kSeparator;
  key += backend_service;
  key += kSeparator;
  key += code_class(code);
  key += kSeparator;
  key += protocol;
  auto counter = shard.requests.find(std::string_view(key));
  if (counter == shard.requests.end()) counter = shard.requests.emplace(key, 0).first;
  ++counter->second;
  auto histogram = shard.durations.find(forwarding_rule);
  if (histogram == shard.durations.end()) {
    histogram = shard.durations.emplace(std::string(forwarding_rule), Histogram{}).first;
  }
  histogram->second.add(micros);
  shard.last_rule.assign(forwarding_rule);
  shard.last_url_map.assign(url_map);
  shard.last_backend.assign(backend_service);
  shard.last_class = code_class_name;
  shard.last_protocol.assign(protocol);
  shard.last_counter = &counter->second;
  shard.last_histogram = &histogram->second;
}

void Metrics::connection_opened(unsigned worker) {
  impl_->shard(worker).active_connections.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::connection_closed(unsigned worker) {
  impl_->shard(worker).active_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Metrics::set_config_generation(uint64_t generation) {
  impl_->generation_.store(generation, std::memory_order_relaxed);
}

void Metrics::set_retained_generations(uint64_t count) {
  impl_->retained_.store(count, std::memory_order_relaxed);
}

void Metrics::config_reload(bool ok) {
  (ok ? impl_->reload_success_ : impl_->reload_failure_).fetch_add(1, std::memory_order_relaxed);
}

int64_t Metrics::active_connections() const {
  int64_t total = 0;
  for (const Shard& shard : impl_->shards_) {
    total += shard.active_connections.load(std::memory_order_relaxed);
  }
  return total;
}

std::string Metrics::render_prometheus() const {
  auto [requests, durations] = impl_->merged();

  std::string out;
  out.reserve(1024 + requests.size() * 160 + durations.size() * 1200);
  out +=
      "# HELP albemu_requests_total Requests answered, by route, status class and client "
      "protocol.\n";
  out += "# TYPE albemu_requests_total counter\n";
  static constexpr std::array<std::string_view, 5> kRequestLabels = {
      "forwarding_rule", "url_map", "backend_service", "code_class", "protocol"};
  for (const auto& [key, count] : requests) {
    out += "albemu_requests_total{";
    std::string_view rest = key;
    for (std::size_t i = 0; i < kRequestLabels.size(); ++i) {
      const auto end = rest.find(kSeparator);
      append_label(out, kRequestLabels[i], rest.substr(0, end), i == 0);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    out += "} ";
    out += std::to_string(count);
    out += '\n';
  }

  out +=
      "# HELP albemu_request_duration_seconds Time from request head to the end of the "
      "response, by forwarding rule.\n";
  out += "# TYPE albemu_request_duration_seconds histogram\n";
  for (const auto& [rule, histogram] : durations) {
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kBucketMicros.size(); ++i) {
      if (i < kBucketMicros.size()) cumulative += histogram.buckets[i];
      out += "albemu_request_duration_seconds_bucket{";
      append_label(out, "forwarding_rule", rule, true);
      append_label(out, "le", i < kBucketMicros.size() ? kBucketLabels[i] : "+Inf", false);
      out += "} ";
      out += std::to_string(i < kBucketMicros.size() ? cumulative : histogram.count);
      out += '\n';
    }
    out += "albemu_request_duration_seconds_sum{";
    append_label(out, "forwarding_rule", rule, true);
    out += "} ";
    out += format_seconds(histogram.sum_micros);
    out += "\nalbemu_request_duration_seconds_count{";
    append_label(out, "forwarding_rule", rule, true);
    out += "} ";
    out += std::to_string(histogram.count);
    out += '\n';
  }

  out += "# HELP albemu_active_connections Open client connections.\n";
  out += "# TYPE albemu_active_connections gauge\n";
  out += "albemu_active_connections " + std::to_string(active_connections()) + "\n";
  out += "# HELP albemu_config_generation Generation of the config being served.\n";
  out += "# TYPE albemu_config_generation gauge\n";
  out += "albemu_config_generation " +
         std::to_string(impl_->generation_.load(std::memory_order_relaxed)) + "\n";
  out +=
      "# HELP albemu_config_generations_retained Old config generations still in memory "
      "(held by requests in flight, or about to be freed).\n";
  out += "# TYPE albemu_config_generations_retained gauge\n";
  out += "albemu_config_generations_retained " +
         std::to_string(impl_->retained_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP albemu_config_reloads_total Config reloads, by result.\n";
  out += "# TYPE albemu_config_reloads_total counter\n";
  out += "albemu_config_reloads_total{result=\"success\"} " +
         std::to_string(impl_->reload_success_.load(std::memory_order_relaxed)) + "\n";
  out += "albemu_config_reloads_total{result=\"failure\"} " +
         std::to_string(impl_->reload_failure_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

MetricsTotals Metrics::totals() const {
  auto [requests, durations] = impl_->merged();
  MetricsTotals out;
  out.requests.reserve(requests.size());
  for (const auto& [key, count] : requests) {
    std::array<std::string, 5> labels;
    std::string_view rest = key;
    for (std::string& label : labels) {
      const auto end = rest.find(kSeparator);
      label = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    out.requests.push_back({std::move(labels[0]), std::move(labels[1]), std::move(labels[2]),
                            std::move(labels[3]), std::move(labels[4]), count});
  }
  out.latencies.reserve(durations.size());
  for (const auto& [rule, histogram] : durations) {
    out.latencies.push_back({rule, histogram.count, histogram.sum_micros});
  }
  out.active_connections = active_connections();
  out.config_generation = impl_->generation_.load(std::memory_order_relaxed);
  out.retained_generations = impl_->retained_.load(std::memory_order_relaxed);
  out.reloads_succeeded = impl_->reload_success_.load(std::memory_order_relaxed);
  out.reloads_failed = impl_->reload_failure_.load(std::memory_order_relaxed);
  return out;
}

}  // namespace albemu::log
