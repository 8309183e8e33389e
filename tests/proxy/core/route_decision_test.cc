#include "proxy/core/route_decision.h"

#include <gtest/gtest.h>

#include "proxy/core/url_map.h"

namespace albemu::core {
namespace {

// A new field must be filled below and cleared by reset(); this fails the build until it is.
static_assert(sizeof(RouteDecision) == 208, "RouteDecision changed: fill the new field below");

TEST(RouteDecision, ResetClearsEveryFieldAndKeepsStorage) {
  const std::vector<std::string> hosts{"a.example"};
  const CompiledRoutePolicy policy{};
  const CompiledHeaderAction action{};
  RouteDecision decision;
  decision.action = RouteAction::kRedirect;
  decision.host_rule_hosts = &hosts;
  decision.path_matcher = "matcher";
  decision.matched_rule = "rule";
  decision.backend_service = "service";
  decision.upstream_host = "rewritten.example.com, long enough to leave the small buffer";
  decision.upstream_target = "/rewritten/target/long enough to leave the small buffer";
  decision.policy = &policy;
  decision.status = 301;
  decision.location = "https://elsewhere.example.com/long enough to leave the small buffer";
  decision.header_actions = {&action, &action, &action, &action};
  ASSERT_NE(decision, RouteDecision{});
  const auto* kept = decision.upstream_target.data();

  decision.reset();
  EXPECT_EQ(decision, RouteDecision{});
  EXPECT_EQ(decision.upstream_target.data(), kept) << "reset() must keep the string's storage";
}

}  // namespace
}  // namespace albemu::core
