#include "proxy/core/header_action.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

model::HeaderToAdd header(std::string name, std::string value, std::optional<bool> replace = {}) {
  return model::HeaderToAdd{std::move(name), std::move(value), replace};
}

TEST(HeaderActionTest, LiteralValuesAreResolvedWhenCompiled) {
  model::HttpHeaderAction action;
  action.request_headers_to_add = {header("a", "  {{literal}} braces\t"),
                                   header("b", " {tls_version} "), header("c", "{}")};
  const CompiledHeaderAction compiled = compile_header_action(action);
  ASSERT_EQ(compiled.request_headers_to_add.size(), 3u);
  // No variable: escapes resolved and whitespace trimmed once, here, not per request.
  EXPECT_EQ(compiled.request_headers_to_add[0].value, "{literal} braces");
  EXPECT_FALSE(compiled.request_headers_to_add[0].has_variable);
  EXPECT_TRUE(compiled.request_headers_to_add[0].replace);
  // A variable: kept as written, for the data plane to expand.
  EXPECT_EQ(compiled.request_headers_to_add[1].value, " {tls_version} ");
  EXPECT_TRUE(compiled.request_headers_to_add[1].has_variable);
  EXPECT_EQ(compiled.request_headers_to_add[2].value, "{}");
}

TEST(HeaderActionTest, FindsAVariableAtEveryLevel) {
  model::HttpHeaderAction uses;
  uses.response_headers_to_add = {header("X-Fp", "ja4={tls_ja4_fingerprint}")};
  model::HttpHeaderAction other;
  other.request_headers_to_add = {header("X-Sni", "{tls_sni_hostname} tls_ja4_fingerprint")};
  model::WeightedBackendService weighted;
  weighted.header_action = uses;
  model::HttpRouteAction route_action;
  route_action.weighted_backend_services = {weighted};

  model::UrlMap plain;
  plain.header_action = other;
  EXPECT_FALSE(uses_header_variable(plain, "tls_ja4_fingerprint"));
  EXPECT_TRUE(uses_header_variable(plain, "tls_sni_hostname"));

  const auto with_matcher = [&](auto&& change) {
    model::UrlMap url_map = plain;
    url_map.path_matchers.emplace_back();
    change(url_map.path_matchers.back());
    return uses_header_variable(url_map, "tls_ja4_fingerprint");
  };
  model::UrlMap top = plain;
  top.header_action = uses;
  EXPECT_TRUE(uses_header_variable(top, "tls_ja4_fingerprint"));
  EXPECT_FALSE(uses_header_variable(top, "tls_ja3_fingerprint"));
  model::UrlMap default_route = plain;
  default_route.default_route_action = route_action;
  EXPECT_TRUE(uses_header_variable(default_route, "tls_ja4_fingerprint"));
  EXPECT_TRUE(with_matcher([&](model::PathMatcher& m) { m.header_action = uses; }));
  EXPECT_TRUE(with_matcher([&](model::PathMatcher& m) { m.default_route_action = route_action; }));
  EXPECT_TRUE(with_matcher([&](model::PathMatcher& m) {
    m.path_rules.emplace_back();
    m.path_rules.back().route_action = route_action;
  }));
  EXPECT_TRUE(with_matcher([&](model::PathMatcher& m) {
    m.route_rules.emplace_back();
    m.route_rules.back().header_action = uses;
  }));
  EXPECT_TRUE(with_matcher([&](model::PathMatcher& m) {
    m.route_rules.emplace_back();
    m.route_rules.back().route_action = route_action;
  }));
  EXPECT_FALSE(with_matcher([&](model::PathMatcher& m) { m.header_action = other; }));
}

TEST(HeaderActionTest, ReplaceDefaultDependsOnVariables) {
  model::HttpHeaderAction action;
  action.request_headers_to_add = {header("a", "1"), header("b", "{tls_version}"),
                                   header("c", "1", false), header("d", "{tls_version}", true)};
  const CompiledHeaderAction compiled = compile_header_action(action);
  ASSERT_EQ(compiled.request_headers_to_add.size(), 4u);
  EXPECT_TRUE(compiled.request_headers_to_add[0].replace);
  EXPECT_FALSE(compiled.request_headers_to_add[1].replace);
  EXPECT_FALSE(compiled.request_headers_to_add[2].replace);
  EXPECT_TRUE(compiled.request_headers_to_add[3].replace);
}

TEST(HeaderActionTest, OuterRemovalCancelsInnerAdditions) {
  model::HttpHeaderAction inner;
  inner.request_headers_to_add = {header("X-Debug", "1"), header("x-keep", "k")};
  model::HttpHeaderAction outer;
  outer.request_headers_to_remove = {"x-debug"};
  const CompiledHeaderAction inner_compiled = compile_header_action(inner);
  const CompiledHeaderAction outer_compiled = compile_header_action(outer);
  RouteDecision decision;
  decision.header_actions[1] = &inner_compiled;
  decision.header_actions[3] = &outer_compiled;
  const MergedHeaderActions merged = merge_header_actions(decision);
  ASSERT_EQ(merged.request_headers_to_add.size(), 1u);
  EXPECT_EQ(merged.request_headers_to_add[0].name, "x-keep");
  EXPECT_EQ(merged.request_headers_to_remove, std::vector<std::string>{"x-debug"});
}

TEST(HeaderActionTest, InnerRemovalThenOuterAppendKeepsTheAppend) {
  model::HttpHeaderAction inner;
  inner.request_headers_to_remove = {"x-tag"};
  model::HttpHeaderAction outer;
  outer.request_headers_to_add = {header("x-tag", "outer", false)};
  const CompiledHeaderAction inner_compiled = compile_header_action(inner);
  const CompiledHeaderAction outer_compiled = compile_header_action(outer);
  RouteDecision decision;
  decision.header_actions[0] = &inner_compiled;
  decision.header_actions[2] = &outer_compiled;
  const MergedHeaderActions merged = merge_header_actions(decision);
  EXPECT_EQ(merged.request_headers_to_remove, std::vector<std::string>{"x-tag"});
  ASSERT_EQ(merged.request_headers_to_add.size(), 1u);
  EXPECT_EQ(merged.request_headers_to_add[0].value, "outer");
}

TEST(HeaderActionTest, EmptyDecisionMergesToNothing) {
  const MergedHeaderActions merged = merge_header_actions(RouteDecision{});
  EXPECT_TRUE(merged.request_headers_to_add.empty());
  EXPECT_TRUE(merged.response_headers_to_remove.empty());
}

}  // namespace
}  // namespace albemu::core
