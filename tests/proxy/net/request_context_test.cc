#include "proxy/net/request_context.h"

#include <gtest/gtest.h>

#include "proxy/core/url_map_impl.h"

namespace albemu::net {
namespace {

// A new field must be filled below and cleared by reset(); this fails the build until it is.
static_assert(sizeof(RequestContext) == 1568, "RequestContext changed: fill the new field below");

TEST(RequestContext, ResetClearsEveryFieldAndKeepsStorage) {
  const std::vector<std::string> endpoints{"http://a:1"};
  const core::ListenerPlan listener;
  const auto url_map = std::make_shared<const core::CompiledUrlMap>();
  RequestContext context;
  context.generation = std::make_shared<const Generation>();
  context.listener = &listener;
  context.url_map = url_map.get();
  context.decision.status = 302;
  context.routed = true;
  context.target =
      core::ServerlessTarget{"neg", "service", "tag", &endpoints, true, true, "ca.pem"};
  context.header_views.push_back({"name", "value"});
  context.cors_headers.push_back({"access-control-allow-origin", "*"});
  context.log.status = 200;
  context.start = std::chrono::steady_clock::now();
  context.client_keep_alive = false;
  context.is_head = true;
  context.websocket = true;
  context.grpc = true;
  context.detailed_log = false;
  ASSERT_NE(context, RequestContext{});
  const auto* kept = context.header_views.data();

  context.reset();
  EXPECT_EQ(context, RequestContext{});
  EXPECT_EQ(context.header_views.data(), kept) << "reset() must keep the vector's storage";
}

}  // namespace
}  // namespace albemu::net
