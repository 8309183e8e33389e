// urlRedirect / defaultUrlRedirect: the five status codes, httpsRedirect, hostRedirect,
// pathRedirect, prefixRedirect and stripQuery.

#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;
using testing::TestRequest;

std::string redirects_yaml() {
  return backends({"fallback"}) + R"(
urlMaps:
  - name: redirects
    defaultUrlRedirect:
      hostRedirect: default.example.com
      redirectResponseCode: FOUND
    hostRules:
      - hosts: [example.com]
        pathMatcher: codes
      - hosts: [paths.example.com]
        pathMatcher: paths
      - hosts: [rules.example.com]
        pathMatcher: rules
    pathMatchers:
      - name: codes
        defaultUrlRedirect:
          pathRedirect: /default
        pathRules:
          - paths: [/301]
            urlRedirect:
              redirectResponseCode: MOVED_PERMANENTLY_DEFAULT
          - paths: [/302]
            urlRedirect:
              redirectResponseCode: FOUND
          - paths: [/303]
            urlRedirect:
              redirectResponseCode: SEE_OTHER
          - paths: [/307]
            urlRedirect:
              redirectResponseCode: TEMPORARY_REDIRECT
          - paths: [/308]
            urlRedirect:
              redirectResponseCode: PERMANENT_REDIRECT
      - name: paths
        defaultService: fallback
        pathRules:
          - paths: [/secure/*]
            urlRedirect:
              httpsRedirect: true
          - paths: [/move/*]
            urlRedirect:
              hostRedirect: new.example.com
              pathRedirect: /landing
          - paths: [/old/*]
            urlRedirect:
              prefixRedirect: /new/
          - paths: [/strip/*]
            urlRedirect:
              stripQuery: true
      - name: rules
        defaultService: fallback
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /docs
            urlRedirect:
              prefixRedirect: /manual
              redirectResponseCode: TEMPORARY_REDIRECT
          - priority: 2
            matchRules:
              - fullPathMatch: /exact
            urlRedirect:
              prefixRedirect: /replaced
)";
}

TEST(UrlMapRedirectTest, EachResponseCodeMapsToItsStatus) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  for (int status : {301, 302, 303, 307, 308}) {
    const RouteDecision decision =
        route(*map, "example.com", "/" + std::to_string(status) + "?a=1");
    EXPECT_EQ(decision.action, RouteAction::kRedirect) << status;
    EXPECT_EQ(decision.status, status);
    EXPECT_EQ(decision.location, "http://example.com/" + std::to_string(status) + "?a=1");
    EXPECT_EQ(decision.backend_service, "");
    EXPECT_EQ(decision.matched_rule, "/" + std::to_string(status));
  }
}

TEST(UrlMapRedirectTest, DefaultsRedirectAtBothLevels) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  RouteDecision decision = route(*map, "example.com", "/nothing?q");
  EXPECT_EQ(decision.status, 301);
  EXPECT_EQ(decision.location, "http://example.com/default?q");
  EXPECT_EQ(decision.matched_rule, "UNMATCHED");
  decision = route(*map, "unknown.example.org", "/x/y?z=1");
  EXPECT_EQ(decision.status, 302);
  EXPECT_EQ(decision.location, "http://default.example.com/x/y?z=1");
  EXPECT_EQ(decision.host_rule_hosts, nullptr);
}

TEST(UrlMapRedirectTest, HttpsRedirectChangesOnlyTheScheme) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "paths.example.com", "/secure/a?b=c");
  EXPECT_EQ(decision.status, 301);
  EXPECT_EQ(decision.location, "https://paths.example.com/secure/a?b=c");
}

TEST(UrlMapRedirectTest, SchemeStaysAsTheClientUsedItWithoutHttpsRedirect) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  TestRequest request;
  request.host = "paths.example.com";
  request.target = "/strip/a";
  request.scheme = "https";
  EXPECT_EQ(route(*map, request).location, "https://paths.example.com/strip/a");
}

TEST(UrlMapRedirectTest, HostAndPathRedirectReplaceHostAndWholePath) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "paths.example.com", "/move/deep/x?k=v").location,
            "http://new.example.com/landing?k=v");
}

TEST(UrlMapRedirectTest, PrefixRedirectReplacesThePathRulePrefix) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "paths.example.com", "/old/a/b?c").location,
            "http://paths.example.com/new/a/b?c");
}

TEST(UrlMapRedirectTest, PrefixRedirectReplacesTheRoutePrefixMatch) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  RouteDecision decision = route(*map, "rules.example.com", "/docs/intro");
  EXPECT_EQ(decision.status, 307);
  EXPECT_EQ(decision.location, "http://rules.example.com/manual/intro");
  decision = route(*map, "rules.example.com", "/exact?x");
  EXPECT_EQ(decision.location, "http://rules.example.com/replaced?x");
}

TEST(UrlMapRedirectTest, StripQueryDropsTheQuery) {
  auto map = compile_yaml(redirects_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "paths.example.com", "/strip/a?secret=1").location,
            "http://paths.example.com/strip/a");
}

}  // namespace
}  // namespace albemu::core
