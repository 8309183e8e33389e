// Route policies executed by the data plane: retries (observed at the backend), fault
// injection, CORS preflights and response headers, Cloud Armor rate limiting.

#include <gtest/gtest.h>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

class ProxyPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string yaml = basic_config(R"(
cloudRunServices:
  - name: app
    url: )" + backend_.url() + R"(
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
securityPolicies:
  - name: throttle
    type: CLOUD_ARMOR
    rules:
      - priority: 100
        action: throttle
        match:
          versionedExpr: SRC_IPS_V1
          config:
            srcIpRanges: ["*"]
        rateLimitOptions:
          conformAction: allow
          exceedAction: deny(429)
          enforceOnKey: ALL
          rateLimitThreshold:
            count: 3
            intervalSec: 60
      - priority: 2147483647
        action: allow
        match:
          versionedExpr: SRC_IPS_V1
          config:
            srcIpRanges: ["*"]
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: app-neg
  - name: limited-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    securityPolicy: throttle
    backends:
      - group: app-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: app-bs
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /retry/
            service: app-bs
            routeAction:
              retryPolicy:
                retryConditions: [5xx]
                numRetries: 2
          - priority: 2
            matchRules:
              - prefixMatch: /abort/
            service: app-bs
            routeAction:
              faultInjectionPolicy:
                abort:
                  httpStatus: 418
                  percentage: 100
          - priority: 3
            matchRules:
              - prefixMatch: /cors/
            service: app-bs
            routeAction:
              corsPolicy:
                allowOrigins: [https://app.example.com]
                allowMethods: [GET, POST]
                allowHeaders: [x-custom]
                maxAge: 600
          - priority: 4
            matchRules:
              - prefixMatch: /limited/
            service: limited-bs
          - priority: 5
            matchRules:
              - prefixMatch: /delayed/
            service: app-bs
            routeAction:
              timeout:
                seconds: 2
              faultInjectionPolicy:
                delay:
                  fixedDelay:
                    seconds: 1
                  percentage: 100
          - priority: 6
            matchRules:
              - prefixMatch: /grpcretry/
            service: app-bs
            routeAction:
              retryPolicy:
                retryConditions: [unavailable, cancelled]
                numRetries: 2
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
  }

  TestBackend backend_{"app"};
  ProxyHarness proxy_;
};

TEST_F(ProxyPolicyTest, RetriesAreObservedAtTheBackend) {
  auto result = run_curl({proxy_.url("http-rule", "/retry/status/503")});
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(backend_.requests_for("/retry/status/503"), 3);  // first try + 2 retries
  auto ok = run_curl({"--data-binary", "abc", proxy_.url("http-rule", "/retry/status/200")});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(backend_.requests_for("/retry/status/200"), 1);
}

TEST_F(ProxyPolicyTest, RetriedRequestsResendTheirBody) {
  auto result =
      run_curl({"--data-binary", "0123456789", proxy_.url("http-rule", "/retry/status/500")});
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(backend_.requests_for("/retry/status/500"), 3);
  EXPECT_NE(backend_.last_request().find("body-bytes: 10"), std::string::npos)
      << backend_.last_request();
}

TEST_F(ProxyPolicyTest, FaultAbortNeverReachesTheBackend) {
  auto result = run_curl({proxy_.url("http-rule", "/abort/x")});
  EXPECT_EQ(result.status, 418);
  EXPECT_EQ(backend_.requests(), 0);
}

TEST_F(ProxyPolicyTest, FaultDelayDoesNotCountAgainstTheRouteTimeout) {
  // 1 s delay + 1.5 s backend: over the 2 s timeout only if the delay counted.
  const auto start = std::chrono::steady_clock::now();
  auto result = run_curl({proxy_.url("http-rule", "/delayed/slow/1500")});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_GE(elapsed, std::chrono::milliseconds(2500));
  EXPECT_EQ(backend_.requests_for("/delayed/slow/1500"), 1);
}

TEST_F(ProxyPolicyTest, FaultDelayHoldsTheRequest) {
  const auto start = std::chrono::steady_clock::now();
  auto result = run_curl({proxy_.url("http-rule", "/delayed/x")});
  EXPECT_EQ(result.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
}

TEST_F(ProxyPolicyTest, GrpcConditionsReadTheGrpcStatusHeader) {
  // grpc-status 14 (unavailable) on an HTTP 200: retried.
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/grpcretry/grpc/14")}).status, 200);
  EXPECT_EQ(backend_.requests_for("/grpcretry/grpc/14"), 3);
  // grpc-status 1 (cancelled): retried too.
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/grpcretry/grpc/1")}).status, 200);
  EXPECT_EQ(backend_.requests_for("/grpcretry/grpc/1"), 3);
  // A grpc-status not listed, and HTTP 503 without grpc-status: not retried.
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/grpcretry/grpc/13")}).status, 200);
  EXPECT_EQ(backend_.requests_for("/grpcretry/grpc/13"), 1);
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/grpcretry/status/503")}).status, 503);
  EXPECT_EQ(backend_.requests_for("/grpcretry/status/503"), 1);
}

TEST_F(ProxyPolicyTest, CorsPreflightIsAnsweredByTheProxy) {
  auto result =
      run_curl({"-X", "OPTIONS", "-H", "Origin: https://app.example.com", "-H",
                "Access-Control-Request-Method: POST", proxy_.url("http-rule", "/cors/x")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.headers.find("Access-Control-Allow-Origin: https://app.example.com"),
            std::string::npos)
      << result.headers;
  EXPECT_EQ(backend_.requests(), 0);

  auto simple =
      run_curl({"-H", "Origin: https://app.example.com", proxy_.url("http-rule", "/cors/y")});
  EXPECT_EQ(simple.status, 200);
  EXPECT_NE(simple.headers.find("Access-Control-Allow-Origin: https://app.example.com"),
            std::string::npos)
      << simple.headers;
  EXPECT_EQ(backend_.requests(), 1);
}

TEST_F(ProxyPolicyTest, RateLimitDeniesAfterTheThreshold) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run_curl({proxy_.url("http-rule", "/limited/x")}).status, 200) << i;
  }
  auto denied = run_curl({proxy_.url("http-rule", "/limited/x")});
  EXPECT_EQ(denied.status, 429);
  EXPECT_EQ(backend_.requests(), 3);
  auto lines = proxy_.wait_for_log_lines(4);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[3].find("RATE_LIMIT_THRESHOLD_EXCEED"), std::string::npos) << lines[3];
}

}  // namespace
}  // namespace albemu::testing
