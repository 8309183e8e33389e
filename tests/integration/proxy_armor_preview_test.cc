// Cloud Armor through the data plane: preview rules are logged as previewSecurityPolicy and
// never enforced; userIpRequestHeaders decides which address the rules see.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tests/integration/support/proxy_harness.h"

namespace albemu::testing {
namespace {

class ProxyArmorPreviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string yaml = basic_config(R"(
cloudRunServices:
  - name: app
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun: {service: app}
securityPolicies:
  - name: watch
    type: CLOUD_ARMOR
    advancedOptionsConfig:
      userIpRequestHeaders: [X-Client-Ip]
      logLevel: VERBOSE
      jsonParsing: DISABLED
    rules:
      - priority: 10
        action: deny(403)
        preview: true
        match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ["*"]}}
      - priority: 20
        action: deny(404)
        match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ["203.0.113.0/24"]}}
      - priority: 2147483647
        action: allow
        match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ["*"]}}
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    securityPolicy: watch
    backends:
      - group: app-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
  }

  ProxyHarness proxy_{1};
};

TEST_F(ProxyArmorPreviewTest, PreviewRuleIsLoggedAndTheEnforcedOutcomeStands) {
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/x")}).status, 200);
  const auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  const auto payload = boost::json::parse(lines[0]).at("jsonPayload");
  const auto& preview = payload.at("previewSecurityPolicy");
  EXPECT_EQ(preview.at("name"), "watch");
  EXPECT_EQ(preview.at("priority"), 10);
  EXPECT_EQ(preview.at("configuredAction"), "deny(403)");
  EXPECT_EQ(preview.at("outcome"), "DENY");
  const auto& enforced = payload.at("enforcedSecurityPolicy");
  EXPECT_EQ(enforced.at("priority"), 2147483647);
  EXPECT_EQ(enforced.at("outcome"), "ACCEPT");
}

TEST_F(ProxyArmorPreviewTest, UserIpHeaderFeedsTheSourceRanges) {
  EXPECT_EQ(run_curl({"-H", "X-Client-Ip: 203.0.113.9", proxy_.url("http-rule", "/x")}).status,
            404);
  // Not a single address: the connection's address (127.0.0.1) is the user IP.
  EXPECT_EQ(
      run_curl({"-H", "X-Client-Ip: 203.0.113.9, 1.2.3.4", proxy_.url("http-rule", "/x")}).status,
      200);
}

}  // namespace
}  // namespace albemu::testing
