// Host rules: exact hosts, host:port, `*` wildcards (longest first), bare `*`, case, and the
// URL map's defaults when nothing matches.

#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;
using testing::TestRequest;

std::string host_rules_yaml() {
  return backends({"fallback", "exact", "exact-port", "wild", "wild-deep", "wild-api", "any"}) + R"(
urlMaps:
  - name: hosts
    defaultService: fallback
    hostRules:
      - hosts: [Example.COM]
        pathMatcher: exact
      - hosts: ["example.com:8080"]
        pathMatcher: exact-port
      - hosts: ["*.example.com"]
        pathMatcher: wild
      - hosts: ["*.deep.example.com"]
        pathMatcher: wild-deep
      - hosts: ["*-api.example.com"]
        pathMatcher: wild-api
    pathMatchers:
      - name: exact
        defaultService: exact
      - name: exact-port
        defaultService: exact-port
      - name: wild
        defaultService: wild
      - name: wild-deep
        defaultService: wild-deep
      - name: wild-api
        defaultService: wild-api
)";
}

TEST(UrlMapHostTest, ExactHostIsCaseInsensitiveAndIgnoresPortWhenTheRuleHasNone) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "example.com", "/").backend_service, "exact");
  EXPECT_EQ(route(*map, "EXAMPLE.com", "/").backend_service, "exact");
  EXPECT_EQ(route(*map, "example.com:9000", "/").backend_service, "exact");
  const RouteDecision decision = route(*map, "example.com", "/");
  ASSERT_NE(decision.host_rule_hosts, nullptr);
  EXPECT_EQ(decision.host_rule_hosts->front(), "Example.COM");
  EXPECT_EQ(decision.path_matcher, "exact");
}

TEST(UrlMapHostTest, HostWithPortMatchesOnlyThatPortFromHostOrListener) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "example.com:8080", "/").backend_service, "exact-port");
  TestRequest request;
  request.host = "example.com";
  request.listener_port = 8080;
  EXPECT_EQ(route(*map, request).backend_service, "exact-port");
  request.listener_port = 80;
  EXPECT_EQ(route(*map, request).backend_service, "exact");
  request.host = "example.com:80";
  request.listener_port = 8080;  // the Host header's port wins over the listener's
  EXPECT_EQ(route(*map, request).backend_service, "exact");
}

TEST(UrlMapHostTest, WildcardMatchesOneOrMoreLabelsButNotTheBareDomain) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "a.example.com", "/").backend_service, "wild");
  EXPECT_EQ(route(*map, "a.b.example.com", "/").backend_service, "wild");
  EXPECT_EQ(route(*map, "A.Example.Com:443", "/").backend_service, "wild");
  EXPECT_EQ(route(*map, "example.org", "/").backend_service, "fallback");
  EXPECT_EQ(route(*map, "notexample.com", "/").backend_service, "fallback");
}

TEST(UrlMapHostTest, LongestWildcardWins) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "x.deep.example.com", "/").backend_service, "wild-deep");
  EXPECT_EQ(route(*map, "deep.example.com", "/").backend_service, "wild");
  EXPECT_EQ(route(*map, "orders-api.example.com", "/").backend_service, "wild-api");
  EXPECT_EQ(route(*map, "orders.api.example.com", "/").backend_service, "wild");
}

TEST(UrlMapHostTest, WildcardStandsOnlyForLettersDigitsDashesAndDots) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "under_score.example.com", "/").backend_service, "fallback");
}

TEST(UrlMapHostTest, UnmatchedHostUsesUrlMapDefaultsAndSaysSo) {
  auto map = compile_yaml(host_rules_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "elsewhere.net", "/x");
  EXPECT_EQ(decision.action, RouteAction::kForward);
  EXPECT_EQ(decision.backend_service, "fallback");
  EXPECT_EQ(decision.host_rule_hosts, nullptr);
  EXPECT_EQ(decision.path_matcher, "");
  EXPECT_EQ(decision.matched_rule, "UNMATCHED");
  ASSERT_NE(decision.policy, nullptr);
}

TEST(UrlMapHostTest, ExactThenWildcardThenStar) {
  auto map = compile_yaml(backends({"fallback", "exact", "wild", "any"}) + R"(
urlMaps:
  - name: star
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: any
      - hosts: ["*.example.com"]
        pathMatcher: wild
      - hosts: [api.example.com]
        pathMatcher: exact
    pathMatchers:
      - name: any
        defaultService: any
      - name: wild
        defaultService: wild
      - name: exact
        defaultService: exact
)");
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "api.example.com", "/").backend_service, "exact");
  EXPECT_EQ(route(*map, "www.example.com", "/").backend_service, "wild");
  EXPECT_EQ(route(*map, "10.0.0.5:8080", "/").backend_service, "any");
  EXPECT_EQ(route(*map, "under_score.host", "/").backend_service, "any");
  EXPECT_EQ(route(*map, "", "/").backend_service, "any");
}

TEST(UrlMapHostTest, ManyHostRulesStillPickTheRightOne) {
  std::string yaml = backends({"fallback", "svc"}) +
                     "urlMaps:\n  - name: many\n    defaultService: fallback\n    hostRules:\n";
  for (int i = 0; i < 300; ++i) {
    yaml += "      - hosts: [\"host" + std::to_string(i) + ".example.com\", \"*.zone" +
            std::to_string(i) + ".example.com\"]\n        pathMatcher: pm" + std::to_string(i) +
            "\n";
  }
  yaml += "    pathMatchers:\n";
  for (int i = 0; i < 300; ++i) {
    yaml += "      - name: pm" + std::to_string(i) + "\n        defaultService: svc\n";
  }
  auto map = compile_yaml(yaml);
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "host123.example.com", "/").path_matcher, "pm123");
  EXPECT_EQ(route(*map, "a.b.zone77.example.com", "/").path_matcher, "pm77");
  EXPECT_EQ(route(*map, "host300.example.com", "/").path_matcher, "");
}

}  // namespace
}  // namespace albemu::core
