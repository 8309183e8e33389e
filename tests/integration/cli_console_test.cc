// The admin console: GET / serves the self-contained page under a strict Content-Security-Policy,
// and GET /stats (what the page polls) counts the traffic of each forwarding rule, URL map and
// backend service, 5xx answers as errors.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>

#include "tests/integration/support/cli_process.h"
#include "tests/integration/support/cli_serve.h"

namespace albemu::cli_testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

boost::json::object stats(const ServeProcess& serve) {
  const auto result = http_request(serve.admin(), "GET", "/stats");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.headers.at("content-type"), "application/json");
  return boost::json::parse(result.body).as_object();
}

/// `group`'s `name` entry's `field` (requests / errors), 0 when the entry is missing.
uint64_t count(const boost::json::object& stats, const char* group, const char* name,
               const char* field) {
  const auto* entry = stats.at(group).as_object().if_contains(name);
  return entry == nullptr ? 0 : entry->as_object().at(field).to_number<uint64_t>();
}

TEST(CliConsole, ServesThePageUnderAStrictContentSecurityPolicy) {
  ServeProcess serve({});  // the embedded demo config
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();

  const auto page = http_request(serve.admin(), "GET", "/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>albemu console</title>"), std::string::npos);
  EXPECT_NE(page.body.find("fetch(path"), std::string::npos) << "the page's script is inline";

  const std::string csp = page.headers.at("content-security-policy");
  EXPECT_EQ(csp.rfind("default-src 'none';", 0), 0u) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << "no external origin is allowed: " << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  // The inline script and style run only through the response's nonce, fresh each time.
  const std::size_t at = csp.find("script-src 'nonce-");
  ASSERT_NE(at, std::string::npos) << csp;
  const std::string nonce = csp.substr(at + 18, 32);
  EXPECT_NE(page.body.find("<script nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(page.body.find("<style nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_EQ(page.body.find("{{NONCE}}"), std::string::npos);
  EXPECT_EQ(page.body.find("src=\"http"), std::string::npos);
  const auto again = http_request(serve.admin(), "GET", "/");
  EXPECT_EQ(again.headers.at("content-security-policy").find(nonce), std::string::npos);

  EXPECT_EQ(http_request(serve.admin(), "GET", "/nothing-here").status, 404);
  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliConsole, StatsCountTrafficPerRouteAndBackendWithErrors) {
  ServeProcess serve({});  // demo-http -> demo-map -> services-by-path / services-by-host
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string rule = "127.0.0.1:" + serve.port("demo-http");

  const auto before = stats(serve);
  EXPECT_EQ(count(before, "forwardingRules", "demo-http", "requests"), 0u);
  EXPECT_EQ(before.at("total").at("requests").to_number<uint64_t>(), 0u);
  EXPECT_EQ(before.at("generation").to_number<uint64_t>(), 1u);
  // The page shows where each rule really listens (--ephemeral-ports moves it off the config's).
  EXPECT_EQ(before.at("listeners").at("demo-http").as_string(), serve.listener("demo-http"));

  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_request(rule, "GET", "/login/web").status, 200);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(http_request(rule, "GET", "/x", Headers{{"Host", "catalog.example.com"}}).status,
              200);
  }
  // The URL mask names a Cloud Run service that does not exist: 503 from the load balancer.
  EXPECT_EQ(http_request(rule, "GET", "/no-such-service/x").status, 503);

  // The counters are written when a response ends; poll rather than assume they already are.
  boost::json::object after;
  ASSERT_TRUE(poll_until([&] {
    after = stats(serve);
    return count(after, "forwardingRules", "demo-http", "requests") == 6;
  })) << boost::json::serialize(after);
  EXPECT_EQ(count(after, "forwardingRules", "demo-http", "errors"), 1u);
  EXPECT_EQ(count(after, "urlMaps", "demo-map", "requests"), 6u);
  EXPECT_EQ(count(after, "urlMaps", "demo-map", "errors"), 1u);
  EXPECT_EQ(count(after, "backendServices", "services-by-path", "requests"), 4u);
  EXPECT_EQ(count(after, "backendServices", "services-by-path", "errors"), 1u);
  EXPECT_EQ(count(after, "backendServices", "services-by-host", "requests"), 2u);
  EXPECT_EQ(count(after, "backendServices", "services-by-host", "errors"), 0u);
  const auto& path_codes =
      after.at("backendServices").at("services-by-path").at("codes").as_object();
  EXPECT_EQ(path_codes.at("2xx").to_number<uint64_t>(), 3u);
  EXPECT_EQ(path_codes.at("5xx").to_number<uint64_t>(), 1u);
  EXPECT_EQ(after.at("total").at("requests").to_number<uint64_t>(), 6u);
  EXPECT_EQ(after.at("total").at("errors").to_number<uint64_t>(), 1u);
  EXPECT_GT(after.at("forwardingRules").at("demo-http").at("averageLatencyMs").to_number<double>(),
            0.0);

  // The series agree with the Prometheus text of the same counters.
  uint64_t series_total = 0;
  for (const auto& row : after.at("series").as_array()) {
    EXPECT_EQ(row.at("forwardingRule").as_string(), "demo-http");
    series_total += row.at("count").to_number<uint64_t>();
  }
  EXPECT_EQ(series_total, 6u);
  const auto metrics = http_request(serve.admin(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("albemu_requests_total{forwarding_rule=\"demo-http\",url_map=\"demo-"
                              "map\",backend_service=\"services-by-host\",code_class=\"2xx\","
                              "protocol=\"HTTP/1.1\"} 2"),
            std::string::npos)
      << metrics.body;
  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace albemu::cli_testing
