// Path rules (longest first, exact vs `/x/*`) and route rules (priority, each path predicate,
// ignoreCase, path templates), plus the path matcher's defaults.

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;

/// Path rules that overlap (`/video/*`, `/video/hd/*`, `/video`), listed in `reversed` order or
/// not, so that neither "first listed wins" nor "last listed wins" can pass both orders.
std::string path_rules_yaml(bool reversed = false) {
  std::vector<std::pair<std::string, std::string>> rules = {
      {"[/video/*]", "video"},
      {"[/video/hd/*, /hd]", "video-hd"},
      {"[/video]", "video-exact"},
      {"[/static/*]", "static"},
  };
  if (reversed) std::reverse(rules.begin(), rules.end());
  std::string yaml =
      backends({"fallback", "home", "root", "video", "video-hd", "video-exact", "static"}) + R"(
urlMaps:
  - name: paths
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: paths
    pathMatchers:
      - name: paths
        defaultService: home
        pathRules:
)";
  for (const auto& [paths, service] : rules)
    yaml += "          - paths: " + paths + "\n            service: " + service + "\n";
  return yaml;
}

TEST(UrlMapPathTest, LongestPathRuleWinsWhateverTheListOrder) {
  for (const std::string& yaml : {path_rules_yaml(), path_rules_yaml(true)}) {
    SCOPED_TRACE(yaml);
    auto map = compile_yaml(yaml);
    ASSERT_TRUE(map);
    EXPECT_EQ(route(*map, "h", "/video/hd/1.mp4").backend_service, "video-hd");
    EXPECT_EQ(route(*map, "h", "/video/sd/1.mp4").backend_service, "video");
    EXPECT_EQ(route(*map, "h", "/video/").backend_service, "video");
    EXPECT_EQ(route(*map, "h", "/video").backend_service, "video-exact");
    const RouteDecision decision = route(*map, "h", "/video/hd/x");
    EXPECT_EQ(decision.matched_rule, "/video/hd/*, /hd");
    EXPECT_EQ(decision.path_matcher, "paths");
  }
}

TEST(UrlMapPathTest, PrefixRuleDoesNotMatchThePathWithoutTrailingSlash) {
  auto map = compile_yaml(path_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/video").backend_service, "video-exact");
  EXPECT_EQ(route(*map, "h", "/static").backend_service, "home");
}

TEST(UrlMapPathTest, PathWithoutStarIsExact) {
  auto map = compile_yaml(path_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/hd").backend_service, "video-hd");
  EXPECT_EQ(route(*map, "h", "/hd/").backend_service, "home");
  EXPECT_EQ(route(*map, "h", "/hdx").backend_service, "home");
}

TEST(UrlMapPathTest, MatchingIsCaseSensitiveAndStopsAtQueryAndFragment) {
  auto map = compile_yaml(path_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/VIDEO/x").backend_service, "home");
  EXPECT_EQ(route(*map, "h", "/hd?x=/video/").backend_service, "video-hd");
  EXPECT_EQ(route(*map, "h", "/hd#frag").backend_service, "video-hd");
}

TEST(UrlMapPathTest, NoPathRuleUsesPathMatcherDefaultLabelledUnmatched) {
  auto map = compile_yaml(path_rules_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/other");
  EXPECT_EQ(decision.backend_service, "home");
  EXPECT_EQ(decision.matched_rule, "UNMATCHED");
  EXPECT_EQ(decision.path_matcher, "paths");
  ASSERT_NE(decision.host_rule_hosts, nullptr);
}

TEST(UrlMapPathTest, SlashStarMatchesEverything) {
  auto map = compile_yaml(backends({"fallback", "all"}) + R"(
urlMaps:
  - name: all
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: all
    pathMatchers:
      - name: all
        defaultService: fallback
        pathRules:
          - paths: ["/*"]
            service: all
)");
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/").backend_service, "all");
  EXPECT_EQ(route(*map, "h", "/a/b/c?d").backend_service, "all");
}

std::string route_rules_yaml() {
  return backends({"fallback", "home", "first", "second", "prefix", "full", "regex", "tmpl",
                   "nocase-prefix", "nocase-full", "any-of"}) +
         R"(
urlMaps:
  - name: routes
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: routes
    pathMatchers:
      - name: routes
        defaultService: home
        routeRules:
          - priority: 20
            description: later rule, same prefix
            matchRules:
              - prefixMatch: /both/
            service: second
          - priority: 10
            matchRules:
              - prefixMatch: /both/
            service: first
          - priority: 30
            matchRules:
              - prefixMatch: /api/
            service: prefix
          - priority: 40
            matchRules:
              - fullPathMatch: /exact
            service: full
          - priority: 50
            matchRules:
              - regexMatch: "/items/[0-9]+"
            service: regex
          - priority: 60
            matchRules:
              - pathTemplateMatch: "/users/{id}/files/{rest=**}"
            service: tmpl
          - priority: 70
            matchRules:
              - prefixMatch: /Mixed/
                ignoreCase: true
            service: nocase-prefix
          - priority: 80
            matchRules:
              - fullPathMatch: /Login
                ignoreCase: true
            service: nocase-full
          - priority: 90
            matchRules:
              - fullPathMatch: /one
              - fullPathMatch: /two
            service: any-of
)";
}

TEST(UrlMapRouteRuleTest, LowestPriorityFirstWhateverTheListOrder) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "h", "/both/x");
  EXPECT_EQ(decision.backend_service, "first");
  EXPECT_EQ(decision.matched_rule, "priority 10");
}

TEST(UrlMapRouteRuleTest, RuleLabelCarriesItsDescription) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/api/v1").matched_rule, "priority 30");
  EXPECT_EQ(route(*map, "h", "/exact").matched_rule, "priority 40");
  auto described = compile_yaml(backends({"fallback", "svc"}) + R"(
urlMaps:
  - name: described
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: fallback
        routeRules:
          - priority: 7
            description: carts
            matchRules:
              - prefixMatch: /
            service: svc
)");
  ASSERT_TRUE(described);
  EXPECT_EQ(route(*described, "h", "/").matched_rule, "priority 7 (carts)");
}

TEST(UrlMapRouteRuleTest, PrefixMatchIsLiteralAndCaseSensitive) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/api/").backend_service, "prefix");
  EXPECT_EQ(route(*map, "h", "/api").backend_service, "home");
  EXPECT_EQ(route(*map, "h", "/API/x").backend_service, "home");
}

TEST(UrlMapRouteRuleTest, FullPathMatchIgnoresQuery) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/exact?x=1").backend_service, "full");
  EXPECT_EQ(route(*map, "h", "/exact/").backend_service, "home");
}

TEST(UrlMapRouteRuleTest, RegexMustMatchTheWholePath) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/items/42").backend_service, "regex");
  EXPECT_EQ(route(*map, "h", "/items/42?q=a").backend_service, "regex");
  EXPECT_EQ(route(*map, "h", "/items/42/x").backend_service, "home");
  EXPECT_EQ(route(*map, "h", "/x/items/42").backend_service, "home");
}

TEST(UrlMapRouteRuleTest, PathTemplateVariablesAndDoubleStar) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/users/7/files/a/b/c.txt").backend_service, "tmpl");
  EXPECT_EQ(route(*map, "h", "/users/7/files/").backend_service, "tmpl");     // ** is zero or more
  EXPECT_EQ(route(*map, "h", "/users/7/8/files/a").backend_service, "home");  // {id} is one segment
  EXPECT_EQ(route(*map, "h", "/users//files/a").backend_service, "home");     // and not empty
}

TEST(UrlMapRouteRuleTest, IgnoreCaseAppliesToPrefixAndFullPath) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/mixed/x").backend_service, "nocase-prefix");
  EXPECT_EQ(route(*map, "h", "/MIXED/x").backend_service, "nocase-prefix");
  EXPECT_EQ(route(*map, "h", "/login").backend_service, "nocase-full");
  EXPECT_EQ(route(*map, "h", "/LOGIN").backend_service, "nocase-full");
  EXPECT_EQ(route(*map, "h", "/LOGIN/").backend_service, "home");
}

TEST(UrlMapRouteRuleTest, AnyMatchRuleSelectsTheRule) {
  auto map = compile_yaml(route_rules_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "h", "/one").backend_service, "any-of");
  EXPECT_EQ(route(*map, "h", "/two").backend_service, "any-of");
  EXPECT_EQ(route(*map, "h", "/three").backend_service, "home");
}

TEST(UrlMapRouteRuleTest, PathMatcherWithoutRulesUsesItsDefault) {
  auto map = compile_yaml(backends({"fallback", "home"}) + R"(
urlMaps:
  - name: bare
    defaultService: fallback
    hostRules:
      - hosts: [a.test]
        pathMatcher: bare
    pathMatchers:
      - name: bare
        defaultService: home
)");
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "a.test", "/anything").backend_service, "home");
  EXPECT_EQ(route(*map, "b.test", "/anything").backend_service, "fallback");
}

}  // namespace
}  // namespace albemu::core
