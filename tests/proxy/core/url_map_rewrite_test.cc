// urlRewrite: hostRewrite, pathPrefixRewrite (matched portion of each rule kind and of the
// defaults) and pathTemplateRewrite. The query string survives every rewrite.

#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;

std::string rewrites_yaml() {
  return backends({"fallback", "svc"}) + R"(
urlMaps:
  - name: rewrites
    defaultService: fallback
    defaultRouteAction:
      urlRewrite:
        pathPrefixRewrite: /root/
    hostRules:
      - hosts: [paths.example.com]
        pathMatcher: paths
      - hosts: [rules.example.com]
        pathMatcher: rules
    pathMatchers:
      - name: paths
        defaultService: svc
        defaultRouteAction:
          urlRewrite:
            hostRewrite: default.internal
        pathRules:
          - paths: [/foo/*]
            service: svc
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /bar/
          - paths: [/exact]
            service: svc
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /other
          - paths: [/host/*]
            service: svc
            routeAction:
              urlRewrite:
                hostRewrite: backend.internal
          - paths: [/plain/*]
            service: svc
      - name: rules
        defaultService: svc
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /api/v1
            service: svc
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /v2
          - priority: 2
            matchRules:
              - fullPathMatch: /whole
            service: svc
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /replaced
          - priority: 3
            matchRules:
              - pathTemplateMatch: "/static/{format=**}"
            service: svc
            routeAction:
              urlRewrite:
                pathTemplateRewrite: "/static/content/{format}"
          - priority: 4
            matchRules:
              - pathTemplateMatch: "/{country}/{format}/{suffix=**}"
            service: svc
            routeAction:
              urlRewrite:
                pathTemplateRewrite: "/content/{format}/{country}/{suffix}"
          - priority: 0
            matchRules:
              - regexMatch: "/re/.*"
            service: svc
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /regex-target
)";
}

TEST(UrlMapRewriteTest, NoRewriteLeavesHostAndTargetUnchanged) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "paths.example.com", "/plain/x?y=1");
  EXPECT_EQ(decision.backend_service, "svc");
  EXPECT_EQ(decision.upstream_host, "");    // empty: send the client's Host
  EXPECT_EQ(decision.upstream_target, "");  // empty: send the client's target
}

TEST(UrlMapRewriteTest, HostRewriteReplacesTheHostOnly) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  const RouteDecision decision = route(*map, "paths.example.com", "/host/x?y=1");
  EXPECT_EQ(decision.upstream_host, "backend.internal");
  EXPECT_EQ(decision.upstream_target, "");
}

TEST(UrlMapRewriteTest, PathRulePrefixIsTheMatchedPortion) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "paths.example.com", "/foo/a/b?q=1").upstream_target, "/bar/a/b?q=1");
  EXPECT_EQ(route(*map, "paths.example.com", "/foo/").upstream_target, "/bar/");
  EXPECT_EQ(route(*map, "paths.example.com", "/exact?z").upstream_target, "/other?z");
}

TEST(UrlMapRewriteTest, RoutePrefixMatchIsTheMatchedPortion) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "rules.example.com", "/api/v1/users?id=3").upstream_target,
            "/v2/users?id=3");
  EXPECT_EQ(route(*map, "rules.example.com", "/api/v1").upstream_target, "/v2");
}

TEST(UrlMapRewriteTest, FullPathAndRegexReplaceTheWholePath) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "rules.example.com", "/whole?a").upstream_target, "/replaced?a");
  EXPECT_EQ(route(*map, "rules.example.com", "/re/x/y").upstream_target, "/regex-target");
}

TEST(UrlMapRewriteTest, PathTemplateRewriteSubstitutesCaptures) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  EXPECT_EQ(route(*map, "rules.example.com", "/static/css/site.css?v=3").upstream_target,
            "/static/content/css/site.css?v=3");
  EXPECT_EQ(route(*map, "rules.example.com", "/us/jpeg/a/b/c.jpg").upstream_target,
            "/content/jpeg/us/a/b/c.jpg");
}

TEST(UrlMapRewriteTest, DefaultsRewriteWithTheLeadingSlashAsMatchedPortion) {
  auto map = compile_yaml(rewrites_yaml());
  ASSERT_TRUE(map);
  RouteDecision decision = route(*map, "elsewhere.example.org", "/a/b?c=d");
  EXPECT_EQ(decision.backend_service, "fallback");
  EXPECT_EQ(decision.upstream_target, "/root/a/b?c=d");
  decision = route(*map, "paths.example.com", "/unmatched");
  EXPECT_EQ(decision.backend_service, "svc");
  EXPECT_EQ(decision.matched_rule, "UNMATCHED");
  EXPECT_EQ(decision.upstream_host, "default.internal");
  EXPECT_EQ(decision.upstream_target, "");
}

}  // namespace
}  // namespace albemu::core
