// Loading serverTlsPolicies and trustConfigs (mutual TLS) in the shapes gcloud's import and
// export use, the target HTTPS proxy's serverTlsPolicy, and their errors.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config {
namespace {

using testing::has_error;
using testing::kMinimalUrlMap;
using testing::load_with;
using testing::no_error_at;
using testing::TempDir;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n";

/// An HTTPS proxy with `policy_reference` as its serverTlsPolicy, plus `resources`.
std::string https_with(const std::string& policy_reference, const std::string& resources) {
  return std::string(kMinimalUrlMap) + R"yaml(
sslCertificates:
- name: lb-cert
  certificate: ")yaml" +
         kPem + R"yaml("
  privateKey: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
targetHttpsProxies:
- name: https-proxy
  urlMap: lb-map
  sslCertificates: [lb-cert]
  serverTlsPolicy: )yaml" +
         policy_reference + "\n" + resources;
}

std::string trust_config(const std::string& name) {
  return "trustConfigs:\n- name: " + name +
         "\n  trustStores:\n  - trustAnchors:\n    - pemCertificate: \"" + kPem +
         "\"\n    intermediateCas:\n    - pemCertificate: \"" + kPem +
         "\"\n  allowlistedCertificates:\n  - pemCertificate: \"" + kPem + "\"\n";
}

TEST(LoaderMtls, GcloudShapesWithFullNamesLoad) {
  // As `gcloud network-security server-tls-policies export` and `gcloud certificate-manager
  // trust-configs export` write them, with the target proxy's full networksecurity reference.
  const auto result = load_with(
      https_with("//networksecurity.googleapis.com/projects/my-project/locations/europe-west1/"
                 "serverTlsPolicies/mtls-policy",
                 trust_config("projects/123456789/locations/europe-west1/trustConfigs/mtls-trust") +
                     R"yaml(serverTlsPolicies:
- name: projects/my-project/locations/europe-west1/serverTlsPolicies/mtls-policy
  createTime: '2026-01-01T00:00:00Z'
  updateTime: '2026-01-01T00:00:00Z'
  mtlsPolicy:
    clientValidationMode: REJECT_INVALID
    clientValidationTrustConfig: projects/123456789/locations/europe-west1/trustConfigs/mtls-trust
)yaml"));
  ASSERT_TRUE(result.errors.empty()) << format_errors(result.errors);
  ASSERT_EQ(result.config.server_tls_policies.size(), 1u);
  const model::ServerTlsPolicy& policy = result.config.server_tls_policies[0];
  EXPECT_EQ(policy.name, "mtls-policy");
  EXPECT_EQ(policy.region, "europe-west1");
  EXPECT_EQ(policy.client_validation_mode, "REJECT_INVALID");
  ASSERT_TRUE(policy.client_validation_trust_config);
  EXPECT_EQ(policy.client_validation_trust_config->name, "mtls-trust");
  ASSERT_EQ(result.config.trust_configs.size(), 1u);
  const model::TrustConfig& trust = result.config.trust_configs[0];
  EXPECT_EQ(trust.name, "mtls-trust");
  ASSERT_EQ(trust.trust_stores.size(), 1u);
  EXPECT_EQ(trust.trust_stores[0].trust_anchors.size(), 1u);
  EXPECT_EQ(trust.trust_stores[0].intermediate_cas.size(), 1u);
  EXPECT_EQ(trust.allowlisted_certificates.size(), 1u);
  ASSERT_TRUE(result.config.target_https_proxies[0].server_tls_policy);
  EXPECT_EQ(result.config.target_https_proxies[0].server_tls_policy->name, "mtls-policy");
}

TEST(LoaderMtls, ShortNamesAndAllowModeWithoutTrustConfig) {
  const auto result = load_with(https_with("open-policy", R"yaml(serverTlsPolicies:
- name: open-policy
  mtlsPolicy:
    clientValidationMode: ALLOW_INVALID_OR_MISSING_CLIENT_CERT
)yaml"));
  ASSERT_TRUE(result.errors.empty()) << format_errors(result.errors);
  EXPECT_FALSE(result.config.server_tls_policies[0].client_validation_trust_config);
}

TEST(LoaderMtls, PemCertificateFileIsRelativeToTheConfigFile) {
  TempDir dir;
  dir.write("certs/root.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const std::string file = dir.write("mtls.yaml", R"yaml(trustConfigs:
- name: from-file
  trustStores:
  - trustAnchors:
    - pemCertificateFile: certs/root.pem
- name: missing-file
  trustStores:
  - trustAnchors:
    - pemCertificateFile: certs/none.pem
)yaml");
  const auto result = load_config_files({file});
  ASSERT_EQ(result.config.trust_configs.size(), 2u);
  EXPECT_EQ(result.config.trust_configs[0].trust_stores[0].trust_anchors[0].file,
            (dir.path() / "certs/root.pem").string());
  EXPECT_NE(result.config.trust_configs[0].trust_stores[0].trust_anchors[0].pem.find("MIIB"),
            std::string::npos);
  EXPECT_TRUE(has_error(result.errors, file,
                        "trustConfigs[missing-file].trustStores[0].trustAnchors[0]."
                        "pemCertificateFile",
                        "cannot read"));
}

TEST(LoaderMtls, ErrorsNameTheField) {
  const auto rejected_without_trust = load_with(https_with("strict", R"yaml(serverTlsPolicies:
- name: strict
  mtlsPolicy:
    clientValidationMode: REJECT_INVALID
)yaml"));
  EXPECT_TRUE(has_error(rejected_without_trust,
                        "serverTlsPolicies[strict].mtlsPolicy.clientValidationTrustConfig",
                        "required with clientValidationMode REJECT_INVALID"));

  const auto bad_mode = load_with(https_with("p", R"yaml(serverTlsPolicies:
- name: p
  mtlsPolicy:
    clientValidationMode: CLIENT_VALIDATION_MODE_UNSPECIFIED
)yaml"));
  EXPECT_TRUE(has_error(bad_mode, "serverTlsPolicies[p].mtlsPolicy.clientValidationMode",
                        "is not one of ALLOW_INVALID_OR_MISSING_CLIENT_CERT, REJECT_INVALID"));

  const auto mesh_fields = load_with(https_with("p", R"yaml(serverTlsPolicies:
- name: p
  allowOpen: true
  serverCertificate: {certificateProviderInstance: {pluginInstance: google_cloud_private_spiffe}}
)yaml"));
  EXPECT_TRUE(has_error(mesh_fields, "serverTlsPolicies[p].mtlsPolicy", "is required"));
  EXPECT_TRUE(
      has_error(mesh_fields, "serverTlsPolicies[p].serverCertificate", "Cloud Service Mesh"));
  EXPECT_TRUE(has_error(mesh_fields, "serverTlsPolicies[p].allowOpen", "must be false"));

  const auto unresolved = load_with(https_with("p", R"yaml(serverTlsPolicies:
- name: p
  mtlsPolicy:
    clientValidationMode: REJECT_INVALID
    clientValidationTrustConfig: projects/my-project/locations/europe-west1/trustConfigs/nope
)yaml"));
  EXPECT_TRUE(has_error(unresolved, "serverTlsPolicies[p].mtlsPolicy.clientValidationTrustConfig",
                        "trust config \"nope\""));

  const auto no_policy = load_with(https_with("missing", ""));
  EXPECT_TRUE(has_error(no_policy, "targetHttpsProxies[https-proxy].serverTlsPolicy",
                        "server TLS policy \"missing\""));

  const auto wrong_kind = load_with(
      https_with("projects/my-project/locations/europe-west1/trustConfigs/t", trust_config("t")));
  EXPECT_TRUE(has_error(wrong_kind, "targetHttpsProxies[https-proxy].serverTlsPolicy",
                        "is not a serverTlsPolicies reference"));

  const auto empty_trust = load_with(R"yaml(trustConfigs:
- name: empty
  trustStores:
  - intermediateCas: []
  - trustAnchors: []
)yaml");
  EXPECT_TRUE(has_error(empty_trust, "trustConfigs[empty].trustStores[0].trustAnchors",
                        "at least one trust anchor"));
  EXPECT_TRUE(has_error(empty_trust, "trustConfigs[empty].trustStores", "a single trust store"));
  EXPECT_TRUE(no_error_at(empty_trust, "urlMaps"));
}

}  // namespace
}  // namespace albemu::config
