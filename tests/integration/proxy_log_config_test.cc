// logConfig end to end: which requests the access log records (enable, sampleRate, failures
// no backend could be picked for) and which optional fields it keeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/integration/support/proxy_harness.h"

namespace albemu::testing {
namespace {

constexpr uint64_t kSeed = 20261206;

std::string service_yaml(const std::string& name, const std::string& log_config) {
  return "  - name: " + name + "-bs\n    loadBalancingScheme: INTERNAL_MANAGED\n" +
         (log_config.empty() ? std::string() : "    logConfig: " + log_config + "\n") +
         "    backends:\n      - group: " + name + "-neg\n";
}

std::string neg_yaml(const std::string& name, const std::string& cloud_run) {
  return "  - name: " + name +
         "-neg\n    networkEndpointType: SERVERLESS\n    cloudRun: " + cloud_run + "\n";
}

class ProxyLogConfigTest : public ::testing::Test {
 protected:
  // One worker, seeded: the sampling draws are the same on every run.
  ProxyLogConfigTest() : proxy_(1, net::ClientTimeouts{}, kSeed) {}

  void SetUp() override {
    const std::string yaml = basic_config(
        "cloudRunServices:\n  - name: app\n"
        "networkEndpointGroups:\n" +
        neg_yaml("sampled", "{service: app}") + neg_yaml("all", "{service: app}") +
        neg_yaml("off", "{service: app}") + neg_yaml("masked", "{urlMask: /<service>}") +
        "backendServices:\n" + service_yaml("sampled", "{enable: true, sampleRate: 0.25}") +
        service_yaml("all", "{enable: true, optionalMode: INCLUDE_ALL_OPTIONAL}") +
        service_yaml("off", "") + service_yaml("masked", "{enable: false}") + R"(urlMaps:
  - name: test-map
    defaultService: all-bs
    hostRules:
      - hosts: ["*"]
        pathMatcher: paths
    pathMatchers:
      - name: paths
        defaultService: all-bs
        pathRules:
          - paths: ["/sampled/*"]
            service: sampled-bs
          - paths: ["/off/*"]
            service: off-bs
          - paths: ["/masked/*"]
            service: masked-bs
          - paths: ["/moved"]
            urlRedirect: {pathRedirect: /elsewhere}
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
  }

  /// Sends a request to /all/<marker> (always logged) and waits for its line: every line of
  /// the requests sent before it is then written (one worker writes in order).
  std::vector<std::string> lines_after_marker(const std::string& marker) {
    EXPECT_EQ(run_curl({proxy_.url("http-rule", "/all/" + marker)}).status, 200);
    std::vector<std::string> lines;
    poll_until([&] {
      lines = proxy_.log_lines();
      return !lines.empty() && lines.back().find("/all/" + marker) != std::string::npos;
    });
    return lines;
  }

  ProxyHarness proxy_;
};

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& line) {
    return line.find(text) != std::string::npos;
  }));
}

TEST_F(ProxyLogConfigTest, SampleRateLogsThatShareOfRequests) {
  constexpr int kRequests = 2000;
  constexpr double kRate = 0.25;
  int exit_code = -1;
  // curl's URL globbing: 2000 requests on one keep-alive connection.
  run_command("curl -sS -o /dev/null '" + proxy_.url("http-rule", "/sampled/[1-2000]") + "'",
              &exit_code);
  ASSERT_EQ(exit_code, 0);
  const auto lines = lines_after_marker("marker");
  const auto logged = static_cast<double>(count_containing(lines, "/sampled/"));
  // Binomial(2000, 0.25): mean 500, sd ~19.4. Five sd either side; the seed makes the
  // outcome the same on every run, the bound says it is a fair sample.
  const double mean = kRequests * kRate;
  const double sd = std::sqrt(kRequests * kRate * (1 - kRate));
  EXPECT_GT(logged, mean - 5 * sd);
  EXPECT_LT(logged, mean + 5 * sd);
}

TEST_F(ProxyLogConfigTest, ServicesWithoutLoggingAndRedirectsGetNoLine) {
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/off/x")}).status, 200);
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/moved")}).status, 301);
  const auto lines = lines_after_marker("first");
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(count_containing(lines, "/off/x"), 0u);
  EXPECT_EQ(count_containing(lines, "/moved"), 0u);
}

TEST_F(ProxyLogConfigTest, AFailureNoBackendCouldBePickedForIsLoggedWithLoggingOff) {
  // /masked/<service> names no Cloud Run service: failed_to_pick_backend, and masked-bs has
  // logging off.
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/masked/nothing")}).status, 503);
  const auto lines = lines_after_marker("after-failure");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("failed_to_pick_backend"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace albemu::testing
