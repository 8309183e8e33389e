// validate_config(): backend services, serverless NEGs and Cloud Run services.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/validate_fixture.h"

namespace albemu::config {
namespace {

using namespace validate_fixture;  // NOLINT: builders shared by the validate tests

TEST(ValidateBackends, BackendServiceWithoutBackendsIsValidAsInCompute) {
  model::Config config = guide_config();
  config.backend_services[1].backends.clear();
  EXPECT_TRUE(validate_config(config).empty());
}

TEST(ValidateBackends, BackendServiceWithTwoServerlessNegs) {
  model::Config config = guide_config();
  config.backend_services[0].backends.push_back(config.backend_services[1].backends[0]);
  expect_only_error(config, kBackendFile, "backendServices[lb-backend].backends[1]",
                    "only one serverless NEG");
}

TEST(ValidateBackends, UnresolvedBackendGroup) {
  model::Config config = guide_config();
  config.backend_services[0].backends[0].group = ref("no-neg");
  expect_only_error(config, kBackendFile, "backendServices[lb-backend].backends[0].group",
                    "unresolved reference", "network endpoint group \"no-neg\"");
}

TEST(ValidateBackends, BackendGroupInAnotherRegion) {
  model::Config config = guide_config();
  model::NetworkEndpointGroup remote = serverless_neg("remote-neg", "remote");
  remote.region = "europe-west1";
  config.network_endpoint_groups.push_back(remote);
  model::CloudRunService remote_service = config.cloud_run_services[1];
  remote_service.name = "remote";
  remote_service.region = "europe-west1";
  config.cloud_run_services.push_back(remote_service);
  config.backend_services[0].backends[0].group =
      regional_ref("europe-west1", "networkEndpointGroups", "remote-neg");
  expect_only_error(config, kBackendFile, "backendServices[lb-backend].backends[0].group",
                    "cross-region reference", "\"remote-neg\"", "region \"europe-west1\"");
}

TEST(ValidateBackends, UnresolvedSecurityPolicy) {
  model::Config config = guide_config();
  config.backend_services[0].security_policy = ref("missing-policy");
  expect_only_error(config, kBackendFile, "backendServices[lb-backend].securityPolicy",
                    "unresolved reference", "security policy \"missing-policy\"");
}

TEST(ValidateBackends, SecurityPolicyInAnotherRegion) {
  model::Config config = guide_config();
  config.security_policies[0].region = "europe-west1";
  config.backend_services[0].security_policy =
      regional_ref("europe-west1", "securityPolicies", "rate-limit");
  expect_only_error(config, kBackendFile, "backendServices[lb-backend].securityPolicy",
                    "cross-region reference", "security policy \"rate-limit\"");
}

TEST(ValidateBackends, NegMustBeServerless) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].network_endpoint_type = "GCE_VM_IP_PORT";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].networkEndpointType",
                    "SERVERLESS", "GCE_VM_IP_PORT");
}

TEST(ValidateBackends, NegWithoutCloudRun) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run.reset();
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun",
                    "missing cloudRun");
}

TEST(ValidateBackends, CloudRunWithNeitherServiceNorMask) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run = model::CloudRunTarget{};
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun",
                    "service or a urlMask");
}

TEST(ValidateBackends, CloudRunWithServiceAndMask) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->url_mask = "/<service>";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun.urlMask",
                    "either cloudRun.service or cloudRun.urlMask");
}

TEST(ValidateBackends, MaskWithoutServicePlaceholder) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->service.reset();
  config.network_endpoint_groups[0].cloud_run->url_mask = "<tag>.example.com/app";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun.urlMask",
                    "<service>", "<tag>.example.com/app");
}

TEST(ValidateBackends, MaskWithServicePlaceholderIsValid) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->service.reset();
  config.network_endpoint_groups[0].cloud_run->url_mask = "<tag>.example.com/<service>";
  // Services and tags named by a mask are only known per request: no static check.
  config.network_endpoint_groups[0].cloud_run->tag = "not-declared-anywhere";
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateBackends, UnknownCloudRunService) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->service = "goodbye";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun.service",
                    "unresolved reference", "Cloud Run service \"goodbye\"");
}

TEST(ValidateBackends, CloudRunServiceInAnotherRegion) {
  model::Config config = guide_config();
  config.cloud_run_services[0].region = "europe-west1";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun.service",
                    "cross-region reference", "Cloud Run service \"hello\"",
                    "region \"europe-west1\"", "same project and region");
}

TEST(ValidateBackends, DeclaredCloudRunTagIsValid) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->tag = "blue";
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateBackends, UndeclaredCloudRunTag) {
  model::Config config = guide_config();
  config.network_endpoint_groups[0].cloud_run->tag = "green";
  expect_only_error(config, kBackendFile, "networkEndpointGroups[lb-neg].cloudRun.tag",
                    "unknown tag", "\"green\"", "declared tags: blue");
}

}  // namespace
}  // namespace albemu::config
