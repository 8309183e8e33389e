#include "proxy/log/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace albemu::log {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

TEST(Metrics, SumsRequestsAcrossWorkerThreads) {
  constexpr unsigned kWorkers = 4;
  constexpr int kPerWorker = 5000;
  Metrics metrics(kWorkers);
  std::vector<std::thread> threads;
  for (unsigned worker = 0; worker < kWorkers; ++worker) {
    threads.emplace_back([&metrics, worker] {
      for (int i = 0; i < kPerWorker; ++i) {
        const int code = i % 5 == 0 ? 503 : 200;
        metrics.record_request(worker, "fr", "map", "svc", code, "HTTP/1.1",
                               std::chrono::microseconds(500));
      }
    });
  }
  // Rendering while workers record must be safe (run under TSan to check data races).
  for (int i = 0; i < 20; ++i) (void)metrics.render_prometheus();
  for (auto& thread : threads) thread.join();

  const std::string text = metrics.render_prometheus();
  const int total = static_cast<int>(kWorkers) * kPerWorker;
  EXPECT_TRUE(has_line(
      text,
      R"(albemu_requests_total{forwarding_rule="fr",url_map="map",backend_service="svc",code_class="2xx",protocol="HTTP/1.1"} )" +
          std::to_string(total * 4 / 5)))
      << text;
  EXPECT_TRUE(has_line(
      text,
      R"(albemu_requests_total{forwarding_rule="fr",url_map="map",backend_service="svc",code_class="5xx",protocol="HTTP/1.1"} )" +
          std::to_string(total / 5)))
      << text;
  EXPECT_TRUE(has_line(text, R"(albemu_request_duration_seconds_count{forwarding_rule="fr"} )" +
                                 std::to_string(total)))
      << text;
}

TEST(Metrics, ConsecutiveAndInterleavedSeriesCountApart) {
  // Runs of one series and switches between series that differ in one label only.
  Metrics metrics(1);
  const auto record = [&](std::string_view map, std::string_view service) {
    metrics.record_request(0, "fr", map, service, 200, "HTTP/1.1", std::chrono::microseconds(100));
  };
  for (int i = 0; i < 3; ++i) record("map", "a");
  record("map", "b");
  record("map", "a");
  record("other-map", "a");
  record("map", "b");
  const std::string text = metrics.render_prometheus();
  const auto series = [](std::string_view map, std::string_view service) {
    return R"(albemu_requests_total{forwarding_rule="fr",url_map=")" + std::string(map) +
           R"(",backend_service=")" + std::string(service) +
           R"(",code_class="2xx",protocol="HTTP/1.1"} )";
  };
  EXPECT_TRUE(has_line(text, series("map", "a") + "4")) << text;
  EXPECT_TRUE(has_line(text, series("map", "b") + "2")) << text;
  EXPECT_TRUE(has_line(text, series("other-map", "a") + "1")) << text;
  EXPECT_TRUE(has_line(text, R"(albemu_request_duration_seconds_count{forwarding_rule="fr"} 7)"))
      << text;
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics metrics(2);
  metrics.record_request(0, "fr", "m", "s", 200, "HTTP/1.1",
                         std::chrono::microseconds(800));  // <= 0.001
  metrics.record_request(1, "fr", "m", "s", 200, "HTTP/1.1",
                         std::chrono::milliseconds(20));                                // <= 0.025
  metrics.record_request(0, "fr", "m", "s", 200, "HTTP/1.1", std::chrono::seconds(2));  // <= 2.5
  metrics.record_request(1, "fr", "m", "s", 200, "HTTP/1.1",
                         std::chrono::seconds(90));  // +Inf only
  const std::string text = metrics.render_prometheus();
  const std::string prefix = R"(albemu_request_duration_seconds_bucket{forwarding_rule="fr",le=")";
  EXPECT_TRUE(has_line(text, prefix + R"(0.001"} 1)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(0.01"} 1)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(0.025"} 2)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(1"} 2)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(2.5"} 3)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(60"} 3)")) << text;
  EXPECT_TRUE(has_line(text, prefix + R"(+Inf"} 4)")) << text;
  EXPECT_TRUE(
      has_line(text, R"(albemu_request_duration_seconds_sum{forwarding_rule="fr"} 92.020800)"))
      << text;
}

TEST(Metrics, CodeClassesAndNoResponse) {
  Metrics metrics(1);
  metrics.record_request(0, "a", "b", "c", 301, "HTTP/1.1", std::chrono::microseconds(1));
  metrics.record_request(0, "a", "b", "c", 404, "HTTP/1.1", std::chrono::microseconds(1));
  metrics.record_request(0, "a", "b", "", 0, "HTTP/1.1", std::chrono::microseconds(1));
  const std::string text = metrics.render_prometheus();
  EXPECT_NE(text.find(R"(code_class="3xx",protocol="HTTP/1.1"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(code_class="4xx",protocol="HTTP/1.1"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(backend_service="",code_class="none",protocol="HTTP/1.1"} 1)"),
            std::string::npos)
      << text;
}

TEST(Metrics, ClientProtocolsAreSeparateSeries) {
  Metrics metrics(1);
  metrics.record_request(0, "fr", "m", "s", 200, "HTTP/1.1", std::chrono::microseconds(1));
  metrics.record_request(0, "fr", "m", "s", 200, "HTTP/2.0", std::chrono::microseconds(1));
  metrics.record_request(0, "fr", "m", "s", 200, "HTTP/2.0", std::chrono::microseconds(1));
  const std::string text = metrics.render_prometheus();
  EXPECT_NE(text.find(R"(code_class="2xx",protocol="HTTP/1.1"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(code_class="2xx",protocol="HTTP/2.0"} 2)"), std::string::npos) << text;
  const auto totals = metrics.totals();
  ASSERT_EQ(totals.requests.size(), 2u);
  EXPECT_EQ(totals.requests[1].protocol, "HTTP/2.0");
  EXPECT_EQ(totals.requests[1].count, 2u);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics metrics(1);
  metrics.record_request(0, "r\"q", "back\\slash", "new\nline", 200, "HTTP/1.1",
                         std::chrono::microseconds(1));
  const std::string text = metrics.render_prometheus();
  EXPECT_NE(
      text.find(R"(forwarding_rule="r\"q",url_map="back\\slash",backend_service="new\nline")"),
      std::string::npos)
      << text;
}

TEST(Metrics, GaugesAndReloads) {
  Metrics metrics(3);
  metrics.connection_opened(0);
  metrics.connection_opened(1);
  metrics.connection_opened(2);
  metrics.connection_closed(1);
  metrics.connection_opened(7);  // out-of-range worker index folds into a shard
  EXPECT_EQ(metrics.active_connections(), 3);
  metrics.set_config_generation(42);
  metrics.config_reload(true);
  metrics.config_reload(true);
  metrics.config_reload(false);
  const std::string text = metrics.render_prometheus();
  EXPECT_TRUE(has_line(text, "albemu_active_connections 3")) << text;
  EXPECT_TRUE(has_line(text, "albemu_config_generation 42")) << text;
  EXPECT_TRUE(has_line(text, R"(albemu_config_reloads_total{result="success"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(albemu_config_reloads_total{result="failure"} 1)")) << text;
  EXPECT_NE(text.find("# TYPE albemu_request_duration_seconds histogram"), std::string::npos);
}

TEST(Metrics, TotalsSumTheShardsPerSeries) {
  constexpr unsigned kWorkers = 3;
  constexpr int kPerWorker = 2000;
  Metrics metrics(kWorkers);
  metrics.set_config_generation(4);
  metrics.config_reload(true);
  metrics.config_reload(false);
  std::vector<std::thread> threads;
  for (unsigned worker = 0; worker < kWorkers; ++worker) {
    threads.emplace_back([&metrics, worker] {
      for (int i = 0; i < kPerWorker; ++i) {
        const bool error = i % 4 == 0;
        metrics.record_request(worker, "fr", "map", error ? "b" : "a", error ? 503 : 200,
                               "HTTP/1.1", std::chrono::microseconds(1000));
      }
    });
  }
  // Reading while workers record must be safe (run under TSan to check data races).
  for (int i = 0; i < 20; ++i) (void)metrics.totals();
  for (auto& thread : threads) thread.join();
  metrics.record_request(0, "fr", "", "", 301, "HTTP/1.1", std::chrono::microseconds(3000));

  const MetricsTotals totals = metrics.totals();
  ASSERT_EQ(totals.requests.size(), 3u);
  const uint64_t all = uint64_t{kWorkers} * kPerWorker;
  // Sorted by series: ("fr", "", "", 3xx) < ("fr", "map", "a", 2xx) < ("fr", "map", "b", 5xx).
  EXPECT_EQ(totals.requests[0].url_map, "");
  EXPECT_EQ(totals.requests[0].code_class, "3xx");
  EXPECT_EQ(totals.requests[0].count, 1u);
  EXPECT_EQ(totals.requests[1].forwarding_rule, "fr");
  EXPECT_EQ(totals.requests[1].url_map, "map");
  EXPECT_EQ(totals.requests[1].backend_service, "a");
  EXPECT_EQ(totals.requests[1].code_class, "2xx");
  EXPECT_EQ(totals.requests[1].count, all * 3 / 4);
  EXPECT_EQ(totals.requests[2].backend_service, "b");
  EXPECT_EQ(totals.requests[2].code_class, "5xx");
  EXPECT_EQ(totals.requests[2].count, all / 4);
  ASSERT_EQ(totals.latencies.size(), 1u);
  EXPECT_EQ(totals.latencies[0].forwarding_rule, "fr");
  EXPECT_EQ(totals.latencies[0].count, all + 1);
  EXPECT_EQ(totals.latencies[0].sum_micros, static_cast<int64_t>(all) * 1000 + 3000);
  EXPECT_EQ(totals.config_generation, 4u);
  EXPECT_EQ(totals.reloads_succeeded, 1u);
  EXPECT_EQ(totals.reloads_failed, 1u);
}

}  // namespace
}  // namespace albemu::log
