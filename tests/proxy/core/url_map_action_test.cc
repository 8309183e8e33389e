// Actions besides redirects and rewrites: weighted splits pinned by the draw, header actions
// (order, replace default, merging) and the per-route policy.

#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;
using testing::TestRequest;
using testing::try_load_url_map;

constexpr uint32_t kQuarter = 1u << 30;

std::string weighted_yaml() {
  return backends({"fallback", "a", "b", "c", "blue", "green"}) + R"(
urlMaps:
  - name: weighted
    defaultRouteAction:
      weightedBackendServices:
        - backendService: blue
          weight: 1
        - backendService: green
          weight: 1
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultRouteAction:
          weightedBackendServices:
            - backendService: c
              weight: 100
        pathRules:
          - paths: [/split/*]
            routeAction:
              weightedBackendServices:
                - backendService: a
                  weight: 1
                  headerAction:
                    requestHeadersToAdd:
                      - headerName: x-pick
                        headerValue: a
                - backendService: b
                  weight: 0
                - backendService: c
                  weight: 3
              urlRewrite:
                pathPrefixRewrite: /
)";
}

TEST(UrlMapWeightedTest, DrawPicksByCumulativeShare) {
  auto map = compile_yaml(weighted_yaml());
  ASSERT_TRUE(map);
  TestRequest request;
  request.target = "/split/x";
  RouteDecision decision = route(*map, request, 0);
  EXPECT_EQ(decision.backend_service, "a");
  EXPECT_EQ(decision.upstream_target, "/x");
  EXPECT_EQ(route(*map, request, kQuarter - 1).backend_service, "a");
  EXPECT_EQ(route(*map, request, kQuarter).backend_service, "c");
  EXPECT_EQ(route(*map, request, 0xFFFFFFFFu).backend_service, "c");
  EXPECT_EQ(decision.matched_rule, "/split/*");
}

TEST(UrlMapWeightedTest, ZeroWeightIsNeverChosen) {
  auto map = compile_yaml(weighted_yaml());
  ASSERT_TRUE(map);
  TestRequest request;
  request.target = "/split/x";
  for (uint64_t draw = 0; draw <= 0xFFFFFFFFull; draw += 0x01000000ull) {
    EXPECT_NE(route(*map, request, static_cast<uint32_t>(draw)).backend_service, "b") << draw;
  }
}

TEST(UrlMapWeightedTest, ChosenEntryHeaderActionIsTheFirstLevel) {
  auto map = compile_yaml(weighted_yaml());
  ASSERT_TRUE(map);
  TestRequest request;
  request.target = "/split/x";
  const RouteDecision a = route(*map, request, 0);
  ASSERT_NE(a.header_actions[0], nullptr);
  EXPECT_EQ(a.header_actions[0]->request_headers_to_add.at(0).value, "a");
  EXPECT_EQ(route(*map, request, 0xFFFFFFFFu).header_actions[0], nullptr);
}

TEST(UrlMapWeightedTest, DefaultsSplitAtBothLevels) {
  auto map = compile_yaml(weighted_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/other").backend_service, "c");
  // The URL map's own defaults are reached only when no host rule matches.
  auto loaded = try_load_url_map(weighted_yaml());
  ASSERT_TRUE(loaded.loaded.ok()) << config::format_errors(loaded.loaded.errors);
  model::UrlMap without_hosts = loaded.model();
  without_hosts.host_rules.clear();
  config::ConfigErrors errors;
  auto compiled = compile_url_map(without_hosts, errors);
  ASSERT_TRUE(compiled) << config::format_errors(errors);
  EXPECT_EQ(route(*compiled, "h", "/", {}).backend_service, "blue");
  TestRequest request;
  EXPECT_EQ(route(*compiled, request, kQuarter * 2u - 1).backend_service, "blue");
  EXPECT_EQ(route(*compiled, request, kQuarter * 2u).backend_service, "green");
}

std::string header_actions_yaml() {
  return backends({"svc", "a"}) + R"(
urlMaps:
  - name: headers
    defaultService: svc
    headerAction:
      requestHeadersToAdd:
        - headerName: x-level
          headerValue: url-map
        - headerName: x-trace
          headerValue: map
          replace: false
      responseHeadersToRemove: [server]
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: svc
        headerAction:
          requestHeadersToAdd:
            - headerName: x-level
              headerValue: path-matcher
            - headerName: x-trace
              headerValue: matcher
              replace: false
          requestHeadersToRemove: [x-remove-me]
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /
            routeAction:
              weightedBackendServices:
                - backendService: a
                  weight: 1
                  headerAction:
                    requestHeadersToAdd:
                      - headerName: X-Level
                        headerValue: weighted
                      - headerName: x-cert
                        headerValue: "{client_cert_present}"
            headerAction:
              requestHeadersToAdd:
                - headerName: x-level
                  headerValue: route-rule
                - headerName: x-trace
                  headerValue: rule
                  replace: false
                - headerName: x-kept
                  headerValue: "yes"
                  replace: false
              responseHeadersToAdd:
                - headerName: x-served-by
                  headerValue: rule
)";
}

TEST(UrlMapHeaderActionTest, LevelsComeInGcpOrder) {
  auto map = compile_yaml(header_actions_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/x");
  ASSERT_NE(decision.header_actions[0], nullptr);
  ASSERT_NE(decision.header_actions[1], nullptr);
  ASSERT_NE(decision.header_actions[2], nullptr);
  ASSERT_NE(decision.header_actions[3], nullptr);
  EXPECT_EQ(decision.header_actions[0]->request_headers_to_add.at(0).value, "weighted");
  EXPECT_EQ(decision.header_actions[1]->request_headers_to_add.at(0).value, "route-rule");
  EXPECT_EQ(decision.header_actions[2]->request_headers_to_add.at(0).value, "path-matcher");
  EXPECT_EQ(decision.header_actions[3]->request_headers_to_add.at(0).value, "url-map");
}

TEST(UrlMapHeaderActionTest, ReplaceDefaultsToTrueUnlessTheValueHoldsAVariable) {
  auto map = compile_yaml(header_actions_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/x");
  const auto& weighted = decision.header_actions[0]->request_headers_to_add;
  ASSERT_EQ(weighted.size(), 2u);
  EXPECT_TRUE(weighted[0].replace);
  EXPECT_FALSE(weighted[0].has_variable);
  EXPECT_FALSE(weighted[1].replace);
  EXPECT_TRUE(weighted[1].has_variable);
  EXPECT_FALSE(decision.header_actions[1]->request_headers_to_add.at(1).replace);  // explicit
}

TEST(UrlMapHeaderActionTest, MergedEffectLetsTheOuterLevelWinAndAppendsAccumulate) {
  auto map = compile_yaml(header_actions_yaml());
  ASSERT_TRUE(map);
  const MergedHeaderActions merged = merge_header_actions(route(*map, "h", "/x"));
  std::vector<std::string> level;
  std::vector<std::string> trace;
  bool cert = false;
  bool kept = false;
  for (const HeaderAddition& addition : merged.request_headers_to_add) {
    if (addition.name == "x-level" || addition.name == "X-Level") level.push_back(addition.value);
    if (addition.name == "x-trace") trace.push_back(addition.value);
    cert = cert || addition.name == "x-cert";
    kept = kept || addition.name == "x-kept";
  }
  EXPECT_EQ(level, std::vector<std::string>{"url-map"});
  EXPECT_EQ(trace, (std::vector<std::string>{"rule", "matcher", "map"}));
  EXPECT_TRUE(cert);
  EXPECT_TRUE(kept);
  EXPECT_EQ(merged.request_headers_to_remove, std::vector<std::string>{"x-remove-me"});
  ASSERT_EQ(merged.response_headers_to_add.size(), 1u);
  EXPECT_EQ(merged.response_headers_to_add[0].name, "x-served-by");
  EXPECT_EQ(merged.response_headers_to_remove, std::vector<std::string>{"server"});
}

TEST(UrlMapHeaderActionTest, UnmatchedHostGetsOnlyTheUrlMapLevel) {
  auto loaded = try_load_url_map(header_actions_yaml());
  ASSERT_TRUE(loaded.loaded.ok()) << config::format_errors(loaded.loaded.errors);
  model::UrlMap without_hosts = loaded.model();
  without_hosts.host_rules.clear();
  config::ConfigErrors errors;
  auto map = compile_url_map(without_hosts, errors);
  ASSERT_TRUE(map) << config::format_errors(errors);
  const RouteDecision decision = route(*map, "h", "/x");
  EXPECT_EQ(decision.header_actions[0], nullptr);
  EXPECT_EQ(decision.header_actions[1], nullptr);
  EXPECT_EQ(decision.header_actions[2], nullptr);
  EXPECT_NE(decision.header_actions[3], nullptr);
}

std::string policy_yaml() {
  return backends({"svc"}) + R"(
urlMaps:
  - name: policies
    defaultService: svc
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: svc
        pathRules:
          - paths: [/tuned/*]
            service: svc
            routeAction:
              timeout:
                seconds: 5
                nanos: 500000000
              retryPolicy:
                retryConditions: [5xx, gateway-error, connect-failure, retriable-4xx, refused-stream,
                                  cancelled, deadline-exceeded, internal, resource-exhausted, unavailable]
                numRetries: 3
                perTryTimeout:
                  seconds: 2
              faultInjectionPolicy:
                abort:
                  httpStatus: 503
                  percentage: 50
                delay:
                  fixedDelay:
                    seconds: 1
                  percentage: 25
              corsPolicy:
                allowOrigins: [https://app.example.com]
                allowMethods: [GET, POST]
                maxAge: 600
                allowCredentials: true
          - paths: [/retry-default/*]
            service: svc
            routeAction:
              retryPolicy:
                retryConditions: [gateway-error]
          - paths: [/plain/*]
            service: svc
          - paths: [/rewrite-only/*]
            service: svc
            routeAction:
              urlRewrite:
                hostRewrite: other
)";
}

TEST(UrlMapPolicyTest, RouteActionSettingsAreCarried) {
  auto map = compile_yaml(policy_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/tuned/x");
  ASSERT_NE(decision.policy, nullptr);
  const CompiledRoutePolicy& policy = *decision.policy;
  EXPECT_EQ(policy.timeout, std::chrono::milliseconds(5500));
  EXPECT_TRUE(policy.timeout_configured);
  ASSERT_TRUE(policy.retry);
  EXPECT_EQ(policy.retry->retry_on, 0x3FFu);
  EXPECT_EQ(policy.retry->num_retries, 3u);
  EXPECT_EQ(policy.retry->per_try_timeout, std::chrono::milliseconds(2000));
  ASSERT_TRUE(policy.fault_injection);
  ASSERT_TRUE(policy.fault_injection->abort);
  EXPECT_EQ(policy.fault_injection->abort->http_status, 503u);
  EXPECT_DOUBLE_EQ(policy.fault_injection->abort->percentage, 50);
  ASSERT_TRUE(policy.fault_injection->delay);
  EXPECT_EQ(policy.fault_injection->delay->fixed_delay.seconds, 1);
  ASSERT_TRUE(policy.cors);
  EXPECT_EQ(policy.cors->allow_origins, std::vector<std::string>{"https://app.example.com"});
  EXPECT_EQ(policy.cors->max_age, 600);
  EXPECT_TRUE(policy.cors->allow_credentials);
}

TEST(UrlMapPolicyTest, RetryDefaultsToOneRetryAndRouteTimeoutToSixtyMinutes) {
  auto map = compile_yaml(policy_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/retry-default/x");
  ASSERT_NE(decision.policy, nullptr);
  ASSERT_TRUE(decision.policy->retry);
  EXPECT_EQ(decision.policy->retry->retry_on, static_cast<uint32_t>(kRetryOnGatewayError));
  EXPECT_EQ(decision.policy->retry->num_retries, 1u);
  EXPECT_FALSE(decision.policy->retry->per_try_timeout);
  EXPECT_EQ(decision.policy->timeout, std::chrono::minutes(60));
  EXPECT_FALSE(decision.policy->timeout_configured);
}

TEST(UrlMapPolicyTest, RoutesWithoutSettingsShareOneDefaultPolicy) {
  auto map = compile_yaml(policy_yaml());
  ASSERT_TRUE(map);
  const CompiledRoutePolicy* plain = route(*map, "h", "/plain/x").policy;
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(route(*map, "h", "/rewrite-only/x").policy, plain);
  EXPECT_EQ(route(*map, "h", "/").policy, plain);
  EXPECT_NE(route(*map, "h", "/tuned/x").policy, plain);
  EXPECT_EQ(plain->timeout, std::chrono::minutes(60));
  EXPECT_FALSE(plain->retry);
  EXPECT_FALSE(plain->fault_injection);
  EXPECT_FALSE(plain->cors);
  EXPECT_FALSE(plain->request_mirror);
}

TEST(UrlMapPolicyTest, MirrorPolicyIsCarried) {
  // The validator refuses mirrors to serverless backends, so set it on the model directly.
  auto loaded = try_load_url_map(policy_yaml());
  ASSERT_TRUE(loaded.loaded.ok()) << config::format_errors(loaded.loaded.errors);
  model::UrlMap url_map = loaded.model();
  model::RequestMirrorPolicy mirror;
  mirror.backend_service.name = "shadow";
  mirror.mirror_percent = 10;
  url_map.path_matchers[0].path_rules[0].route_action->request_mirror_policy = mirror;
  config::ConfigErrors errors;
  auto map = compile_url_map(url_map, errors);
  ASSERT_TRUE(map) << config::format_errors(errors);
  const RouteDecision decision = route(*map, "h", "/tuned/x");
  ASSERT_TRUE(decision.policy->request_mirror);
  EXPECT_EQ(decision.policy->request_mirror->backend_service.name, "shadow");
  EXPECT_EQ(decision.policy->request_mirror->mirror_percent, 10);
}

}  // namespace
}  // namespace albemu::core
