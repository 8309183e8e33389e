// The data plane end to end with real backends and curl: URL-mask routing, redirects,
// rewrites, header actions, the proxy's own headers, the built-in stand-in, and the LB's
// error answers with their access-log lines.

#include <gtest/gtest.h>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

class ProxyRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string yaml = basic_config(R"(
cloudRunServices:
  - name: login
    url: )" + login_.url() + R"(
  - name: cart
    url: )" + cart_.url() + R"(
  - name: catalog
  - name: closed
    url: http://127.0.0.1:1
networkEndpointGroups:
  - name: by-path
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
  - name: login-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: login
backendServices:
  - name: by-path
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: by-path
  - name: login-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: login-neg
  - name: empty-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
urlMaps:
  - name: test-map
    defaultService: by-path
    headerAction:
      requestHeadersToAdd:
        - headerName: x-map-level
          headerValue: from-map
      responseHeadersToAdd:
        - headerName: x-response-added
          headerValue: yes-added
      requestHeadersToRemove: [x-drop-me]
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: by-path
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /old
            urlRedirect:
              pathRedirect: /new
              redirectResponseCode: FOUND
          - priority: 0
            matchRules:
              - prefixMatch: /no-backends/
            service: empty-bs
          - priority: 2
            matchRules:
              - prefixMatch: /api/
            service: login-bs
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /v2/
          - priority: 3
            matchRules:
              - prefixMatch: /timeout/
            service: login-bs
            routeAction:
              timeout:
                seconds: 1
              urlRewrite:
                pathPrefixRewrite: /
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    ASSERT_NE(proxy_.port("http-rule"), 0);
  }

  TestBackend login_{"login"};
  TestBackend cart_{"cart"};
  ProxyHarness proxy_;
};

TEST_F(ProxyRoutingTest, UrlMaskPicksTheServiceFromThePath) {
  auto login = run_curl({proxy_.url("http-rule", "/login/web?x=1")});
  EXPECT_EQ(login.status, 200);
  EXPECT_NE(login.headers.find("x-backend-name: login"), std::string::npos) << login.headers;
  // The mask reads the path; the path is forwarded unchanged.
  EXPECT_EQ(login.body.rfind("GET /login/web?x=1\n", 0), 0u) << login.body;

  auto cart = run_curl({proxy_.url("http-rule", "/cart/items")});
  EXPECT_EQ(cart.status, 200);
  EXPECT_NE(cart.headers.find("x-backend-name: cart"), std::string::npos);
  EXPECT_EQ(login_.requests_for("/login/web"), 1);
  EXPECT_EQ(cart_.requests_for("/cart/items"), 1);
}

TEST_F(ProxyRoutingTest, ProxyHeadersReachTheBackendAndTheClient) {
  // The client connects from 127.0.0.2 (all of 127/8 is loopback) to the rule on 127.0.0.1,
  // so the order <supplied>,<client>,<load balancer> is visible.
  auto result = run_curl({"--interface", "127.0.0.2", "-H", "X-Forwarded-For: 203.0.113.9", "-H",
                          "x-drop-me: 1", proxy_.url("http-rule", "/login/h")});
  ASSERT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("X-Forwarded-For: 203.0.113.9,127.0.0.2,127.0.0.1\n"),
            std::string::npos)
      << result.body;
  EXPECT_NE(result.body.find("X-Forwarded-Proto: http"), std::string::npos);
  EXPECT_NE(result.body.find("Via: 1.1 google"), std::string::npos);
  EXPECT_NE(result.body.find("x-map-level: from-map"), std::string::npos);
  EXPECT_EQ(result.body.find("x-drop-me"), std::string::npos);
  EXPECT_NE(result.headers.find("x-response-added: yes-added"), std::string::npos);
  EXPECT_NE(result.headers.find("Via: 1.1 google"), std::string::npos) << result.headers;
}

TEST_F(ProxyRoutingTest, RedirectIsAnsweredByTheProxy) {
  auto result = run_curl({proxy_.url("http-rule", "/old/page")});
  EXPECT_EQ(result.status, 302);
  EXPECT_NE(result.headers.find("Location: http://127.0.0.1:"), std::string::npos)
      << result.headers;
  EXPECT_NE(result.headers.find("/new"), std::string::npos);
  EXPECT_EQ(login_.requests() + cart_.requests(), 0);
}

TEST_F(ProxyRoutingTest, RewriteIsVisibleAtTheBackend) {
  auto result = run_curl({proxy_.url("http-rule", "/api/users?id=3")});
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.body.rfind("GET /v2/users?id=3\n", 0), 0u) << result.body;
}

TEST_F(ProxyRoutingTest, BuiltInStandInEchoesWhatReachedIt) {
  auto result = run_curl({"--data-binary", "hello", proxy_.url("http-rule", "/catalog/list")});
  ASSERT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("\"service\":\"catalog\""), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("\"bodyLength\":5"), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("x-map-level"), std::string::npos);
  EXPECT_NE(result.headers.find("x-response-added: yes-added"), std::string::npos);
}

TEST_F(ProxyRoutingTest, UnknownServiceIs503WithItsLogLine) {
  auto result = run_curl({proxy_.url("http-rule", "/nosuch/x")});
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(result.body, "no healthy upstream");
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("failed_to_pick_backend"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"status\":503"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("http-rule"), std::string::npos);
}

TEST_F(ProxyRoutingTest, BackendServiceWithoutBackendsIs503) {
  auto result = run_curl({proxy_.url("http-rule", "/no-backends/x")});
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(result.body, "no healthy upstream");
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("failed_to_pick_backend"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("empty-bs"), std::string::npos) << lines[0];
}

TEST_F(ProxyRoutingTest, RefusedConnectionIs502) {
  auto result = run_curl({proxy_.url("http-rule", "/closed/x")});
  EXPECT_EQ(result.status, 502);
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("failed_to_connect_to_backend"), std::string::npos) << lines[0];
}

TEST_F(ProxyRoutingTest, BackendResetBeforeHeadersIs502) {
  auto result = run_curl({proxy_.url("http-rule", "/login/reset")});
  EXPECT_EQ(result.status, 502);
  EXPECT_EQ(login_.requests_for("/login/reset"), 1);
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("backend_connection_closed_before_data_sent_to_client"),
            std::string::npos)
      << lines[0];
}

TEST_F(ProxyRoutingTest, BackendDyingMidResponseClosesTheClient) {
  auto result = run_curl({proxy_.url("http-rule", "/login/partial")});
  EXPECT_NE(result.exit_code, 0);  // curl: transfer closed with outstanding read data
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "0123456789");
}

TEST_F(ProxyRoutingTest, RouteTimeoutIs504) {
  const auto start = std::chrono::steady_clock::now();
  auto result = run_curl({proxy_.url("http-rule", "/timeout/slow/3000")});
  EXPECT_EQ(result.status, 504);
  EXPECT_EQ(result.body, "upstream request timeout");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));  // the 1 s route timeout, not sooner
  EXPECT_LT(elapsed, std::chrono::milliseconds(2900));
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("backend_timeout"), std::string::npos) << lines[0];
}

TEST_F(ProxyRoutingTest, OversizedBackendHeaderIs502AndTheProxyLives) {
  auto result = run_curl({proxy_.url("http-rule", "/login/bigheader/70000")});
  EXPECT_EQ(result.status, 502);
  auto next = run_curl({proxy_.url("http-rule", "/login/after")});
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(login_.requests_for("/login/after"), 1);
}

}  // namespace
}  // namespace albemu::testing
