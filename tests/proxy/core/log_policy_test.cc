#include "proxy/core/log_policy.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

using model::OptionalLogField;

model::BackendService service_with(std::optional<model::BackendLogConfig> config) {
  model::BackendService service;
  service.name = "bs";
  service.log_config = std::move(config);
  return service;
}

TEST(LogPolicy, DefaultsAreGcps) {
  const LogPolicy absent = compile_log_policy(service_with(std::nullopt));
  EXPECT_FALSE(absent.enabled);
  model::BackendLogConfig enabled;
  enabled.enable = true;
  const LogPolicy policy = compile_log_policy(service_with(enabled));
  EXPECT_TRUE(policy.enabled);
  EXPECT_EQ(policy.sample_rate, 1.0);
  EXPECT_EQ(policy.optional_fields, 0u) << "EXCLUDE_ALL_OPTIONAL is the default";
}

TEST(LogPolicy, OptionalModes) {
  model::BackendLogConfig config;
  config.enable = true;
  config.optional_mode = "INCLUDE_ALL_OPTIONAL";
  EXPECT_EQ(compile_log_policy(service_with(config)).optional_fields, model::kAllOptionalLogFields);
  config.optional_mode = "CUSTOM";
  config.optional_fields = {"tls.cipher", "mtls.clientCertChain"};
  EXPECT_EQ(compile_log_policy(service_with(config)).optional_fields,
            model::log_field_bit(OptionalLogField::kTlsCipher) |
                model::log_field_bit(OptionalLogField::kMtlsClientCertChain));
}

TEST(LogPolicy, OnlyEnabledServicesAreLoggedAndSampled) {
  const LogPolicy off{false, 1.0, 0};
  const LogPolicy half{true, 0.5, 0};
  const LogPolicy none{true, 0.0, 0};
  const LogPolicy all{true, 1.0, 0};
  EXPECT_FALSE(should_log_request({&off, true, 200}, 0.0));
  EXPECT_TRUE(should_log_request({&half, true, 200}, 0.49));
  EXPECT_FALSE(should_log_request({&half, true, 200}, 0.5));
  EXPECT_FALSE(should_log_request({&none, true, 200}, 0.0));
  EXPECT_TRUE(should_log_request({&all, true, 200}, 0.999999));
}

TEST(LogPolicy, FailuresWithoutABackendAreLoggedEvenWithLoggingOff) {
  const LogPolicy off{false, 1.0, 0};
  // failed_to_pick_backend (a URL mask that matches no service): no backend associated.
  EXPECT_TRUE(should_log_request({&off, false, 503}, 0.9));
  EXPECT_TRUE(should_log_request({nullptr, false, 400}, 0.9));
  EXPECT_TRUE(should_log_request({nullptr, false, 0}, 0.9));
  // A redirect has no backend service and did not fail.
  EXPECT_FALSE(should_log_request({nullptr, false, 301}, 0.0));
  // A failure after a backend was picked follows the service's logConfig.
  EXPECT_FALSE(should_log_request({&off, true, 502}, 0.0));
}

TEST(LogPolicy, OptionalFieldsOfALoggedRequest) {
  const LogPolicy custom{true, 1.0, model::log_field_bit(OptionalLogField::kTlsProtocol)};
  const LogPolicy off{false, 1.0, model::kAllOptionalLogFields};
  EXPECT_EQ(logged_optional_fields(&custom), custom.optional_fields);
  EXPECT_EQ(logged_optional_fields(&off), 0u);
  EXPECT_EQ(logged_optional_fields(nullptr), 0u);
}

}  // namespace
}  // namespace albemu::core
