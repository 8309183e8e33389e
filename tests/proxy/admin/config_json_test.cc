#include "proxy/admin/config_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace albemu::admin {
namespace {

// /config shows what the loader accepted and acts on, so a user can see why a log line or a
// Cloud Armor decision came out as it did.
TEST(ConfigJson, ShowsLogConfigAndCloudArmorAdvancedOptions) {
  model::Config config;
  model::BackendService service;
  service.name = "web";
  service.log_config = model::BackendLogConfig{
      true, 0.5, "CUSTOM", {"tls.protocol", "mtls.clientCertSha256Fingerprint"}};
  config.backend_services.push_back(service);
  model::SecurityPolicy policy;
  policy.name = "armor";
  policy.user_ip_request_headers = {"X-Real-IP", "True-Client-IP"};
  policy.log_level = "VERBOSE";
  config.security_policies.push_back(policy);

  const boost::json::object json = config_to_json(config);
  const auto& log_config = json.at("backendServices").at(0).at("logConfig");
  EXPECT_EQ(log_config.at("enable"), true);
  EXPECT_EQ(log_config.at("sampleRate").as_double(), 0.5);
  EXPECT_EQ(log_config.at("optionalMode"), "CUSTOM");
  EXPECT_EQ(log_config.at("optionalFields"),
            (boost::json::array{"tls.protocol", "mtls.clientCertSha256Fingerprint"}));
  const auto& advanced = json.at("securityPolicies").at(0).at("advancedOptionsConfig");
  EXPECT_EQ(advanced.at("userIpRequestHeaders"),
            (boost::json::array{"X-Real-IP", "True-Client-IP"}));
  EXPECT_EQ(advanced.at("logLevel"), "VERBOSE");
}

}  // namespace
}  // namespace albemu::admin
