// compile_url_map() errors: each names the field path of what cannot be compiled.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::try_load_url_map;

model::UrlMap base_map() {
  auto loaded = try_load_url_map(backends({"svc"}) + R"(
urlMaps:
  - name: base
    defaultService: svc
    hostRules:
      - hosts: [a.example.com]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: svc
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /
            service: svc
)");
  EXPECT_TRUE(loaded.loaded.ok()) << config::format_errors(loaded.loaded.errors);
  return loaded.loaded.config.url_maps.empty() ? model::UrlMap{} : loaded.model();
}

std::string compile_errors(const model::UrlMap& url_map) {
  config::ConfigErrors errors;
  auto compiled = compile_url_map(url_map, errors);
  EXPECT_EQ(compiled == nullptr, !errors.empty());
  return config::format_errors(errors);
}

model::HttpRouteRuleMatch& first_match(model::UrlMap& url_map) {
  return url_map.path_matchers.at(0).route_rules.at(0).match_rules.at(0);
}

TEST(UrlMapCompileTest, BaseMapCompiles) { EXPECT_EQ(compile_errors(base_map()), ""); }

TEST(UrlMapCompileTest, BadRegexNamesItsField) {
  model::UrlMap url_map = base_map();
  first_match(url_map).prefix_match.reset();
  first_match(url_map).regex_match = "/(unclosed";
  EXPECT_THAT(
      compile_errors(url_map),
      ::testing::HasSubstr("urlMaps[base].pathMatchers[0].routeRules[0].matchRules[0].regexMatch"));
}

TEST(UrlMapCompileTest, BadPathTemplatesAreRejected) {
  for (const char* bad : {"/a/{x", "/{x}/{x}", "/**/{y}", "/{1x}", "/a/*/*/*/*/*/*", "no-slash"}) {
    model::UrlMap url_map = base_map();
    first_match(url_map).prefix_match.reset();
    first_match(url_map).path_template_match = bad;
    EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("matchRules[0].pathTemplateMatch"))
        << bad;
  }
}

TEST(UrlMapCompileTest, TemplateRewriteMustUseCapturedVariables) {
  model::UrlMap url_map = base_map();
  first_match(url_map).prefix_match.reset();
  first_match(url_map).path_template_match = "/{a}/{b=**}";
  model::HttpRouteAction action;
  action.url_rewrite = model::UrlRewrite{};
  action.url_rewrite->path_template_rewrite = "/{c}";
  url_map.path_matchers[0].route_rules[0].route_action = action;
  EXPECT_THAT(compile_errors(url_map),
              ::testing::HasSubstr("routeRules[0].routeAction.urlRewrite.pathTemplateRewrite"));
  url_map.path_matchers[0].route_rules[0].route_action->url_rewrite->path_template_rewrite = "/x";
  EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("at least one"));
  url_map.path_matchers[0].route_rules[0].route_action->url_rewrite->path_template_rewrite =
      "/{b}/{a}";
  EXPECT_EQ(compile_errors(url_map), "");
}

TEST(UrlMapCompileTest, TemplateRewriteNeedsTemplateMatchRules) {
  model::UrlMap url_map = base_map();
  model::HttpRouteAction action;
  action.url_rewrite = model::UrlRewrite{};
  action.url_rewrite->path_template_rewrite = "/{a}";
  url_map.path_matchers[0].route_rules[0].route_action = action;
  EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("requires every matchRule"));
}

TEST(UrlMapCompileTest, HostRuleProblems) {
  model::UrlMap url_map = base_map();
  url_map.host_rules[0].path_matcher = "missing";
  EXPECT_THAT(compile_errors(url_map),
              ::testing::HasSubstr("urlMaps[base].hostRules[0].pathMatcher"));

  url_map = base_map();
  url_map.host_rules[0].hosts = {"a.*.example.com"};
  EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("hostRules[0].hosts[0]"));

  url_map = base_map();
  url_map.host_rules.push_back(url_map.host_rules[0]);
  url_map.host_rules[1].hosts = {"A.example.com"};
  EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("hostRules[1].hosts[0]"));
}

TEST(UrlMapCompileTest, MissingDefaultAndUnknownRetryCondition) {
  model::UrlMap url_map = base_map();
  url_map.default_service.reset();
  EXPECT_THAT(compile_errors(url_map), ::testing::HasSubstr("defaultService"));

  url_map = base_map();
  model::HttpRouteAction action;
  action.retry_policy = model::RetryPolicy{};
  action.retry_policy->retry_conditions = {"5xx", "sometimes"};
  url_map.path_matchers[0].route_rules[0].route_action = action;
  EXPECT_THAT(compile_errors(url_map),
              ::testing::HasSubstr("routeRules[0].routeAction.retryPolicy.retryConditions[1]"));
}

TEST(UrlMapCompileTest, WeightsSummingToZeroCannotPickAnything) {
  model::UrlMap url_map = base_map();
  url_map.default_service.reset();
  model::HttpRouteAction action;
  model::WeightedBackendService entry;
  entry.backend_service.name = "svc";
  entry.weight = 0;
  action.weighted_backend_services = {entry};
  url_map.default_route_action = action;
  EXPECT_THAT(compile_errors(url_map),
              ::testing::HasSubstr("urlMaps[base].defaultRouteAction.weightedBackendServices"));
}

TEST(UrlMapCompileTest, BadPathRulePaths) {
  model::UrlMap url_map = base_map();
  url_map.path_matchers[0].route_rules.clear();
  model::PathRule rule;
  rule.paths = {"/ok/*", "/bad*", "nope", "/a/*/b"};
  rule.service = model::ResourceRef{};
  rule.service->name = "svc";
  url_map.path_matchers[0].path_rules.push_back(rule);
  const std::string errors = compile_errors(url_map);
  EXPECT_THAT(errors, ::testing::Not(::testing::HasSubstr("paths[0]")));
  EXPECT_THAT(errors, ::testing::HasSubstr("pathRules[0].paths[1]"));
  EXPECT_THAT(errors, ::testing::HasSubstr("pathRules[0].paths[2]"));
  EXPECT_THAT(errors, ::testing::HasSubstr("pathRules[0].paths[3]"));
}

}  // namespace
}  // namespace albemu::core
