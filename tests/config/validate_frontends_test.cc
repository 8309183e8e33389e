// validate_config(): target proxies, forwarding rules, networks and the proxy-only subnet.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/validate_fixture.h"

namespace albemu::config {
namespace {

using namespace validate_fixture;  // NOLINT: builders shared by the validate tests

// ------------------------------------------------------------------ target proxies

TEST(ValidateFrontends, HttpProxyWithUnknownUrlMap) {
  model::Config config = guide_config();
  config.target_http_proxies[0].url_map = ref("other-map");
  expect_only_error(config, kFrontendFile, "targetHttpProxies[http-proxy].urlMap",
                    "unresolved reference", "URL map \"other-map\"");
}

TEST(ValidateFrontends, HttpsProxyWithUnknownCertificate) {
  model::Config config = guide_config();
  config.target_https_proxies[0].ssl_certificates.push_back(ref("second-cert"));
  expect_only_error(config, kFrontendFile, "targetHttpsProxies[https-proxy].sslCertificates[1]",
                    "unresolved reference", "SSL certificate \"second-cert\"");
}

TEST(ValidateFrontends, HttpsProxyWithCertificateInAnotherRegion) {
  model::Config config = guide_config();
  config.ssl_certificates[0].region = "us-east1";
  config.target_https_proxies[0].ssl_certificates[0] =
      regional_ref("us-east1", "sslCertificates", "lb-cert");
  expect_only_error(config, kFrontendFile, "targetHttpsProxies[https-proxy].sslCertificates[0]",
                    "cross-region reference", "region \"us-east1\"");
}

TEST(ValidateFrontends, HttpsProxyWithUnknownSslPolicy) {
  model::Config config = guide_config();
  config.target_https_proxies[0].ssl_policy = ref("restricted");
  expect_only_error(config, kFrontendFile, "targetHttpsProxies[https-proxy].sslPolicy",
                    "unresolved reference", "SSL policy \"restricted\"");
}

// ------------------------------------------------------------------ forwarding rule targets

TEST(ValidateFrontends, TargetCollectionDecidesWhichProxyKind) {
  model::Config config = guide_config();
  // There is an HTTP proxy called http-proxy, but no HTTPS one.
  config.forwarding_rules[0].target =
      regional_ref("us-central1", "targetHttpsProxies", "http-proxy");
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule].target",
                    "unresolved reference", "target HTTPS proxy \"http-proxy\"");
}

TEST(ValidateFrontends, ShortTargetNameFindsEitherProxyKind) {
  model::Config config = guide_config();
  config.forwarding_rules[0].target = ref("http-proxy");
  config.forwarding_rules[1].target = ref("https-proxy");
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateFrontends, UnknownShortTargetName) {
  model::Config config = guide_config();
  config.forwarding_rules[1].target = ref("tls-proxy");
  expect_only_error(config, kFrontendFile, "forwardingRules[https-rule].target",
                    "unresolved reference", "target HTTP or HTTPS proxy \"tls-proxy\"");
}

TEST(ValidateFrontends, AmbiguousShortTargetName) {
  model::Config config = guide_config();
  config.target_https_proxies[0].name = "http-proxy";
  config.forwarding_rules[1].target = ref("http-proxy");
  expect_only_error(config, kFrontendFile, "forwardingRules[https-rule].target",
                    "ambiguous reference", "targetHttpProxies[http-proxy]",
                    "targetHttpsProxies[http-proxy]");
}

TEST(ValidateFrontends, TargetOfTheWrongKind) {
  model::Config config = guide_config();
  config.forwarding_rules[0].target = regional_ref("us-central1", "targetTcpProxies", "tcp");
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule].target",
                    "wrong resource type", "targetTcpProxies");
}

TEST(ValidateFrontends, TargetInAnotherRegion) {
  model::Config config = guide_config();
  config.forwarding_rules[1].region = "europe-west1";
  config.forwarding_rules[1].network.reset();
  config.forwarding_rules[1].subnetwork.reset();
  config.forwarding_rules[1].target =
      regional_ref("us-central1", "targetHttpsProxies", "https-proxy");
  const ConfigErrors errors = validate_config(config);
  expect_error(errors, kFrontendFile, "forwardingRules[https-rule].target",
               "cross-region reference", "region \"us-central1\"", "region \"europe-west1\"");
}

// ------------------------------------------------------------------ networks

TEST(ValidateFrontends, UnknownNetworkAndSubnetwork) {
  model::Config config = guide_config();
  config.forwarding_rules[0].network = ref("default");
  config.forwarding_rules[0].subnetwork = ref("default-subnet");
  const ConfigErrors errors = validate_config(config);
  // Not a third error about the proxy-only subnet of the unknown network.
  EXPECT_EQ(errors.size(), 2u) << format_errors(errors);
  expect_error(errors, kFrontendFile, "forwardingRules[http-rule].network", "unresolved reference",
               "network \"default\"");
  expect_error(errors, kFrontendFile, "forwardingRules[http-rule].subnetwork",
               "unresolved reference", "subnetwork \"default-subnet\"");
}

TEST(ValidateFrontends, SubnetworkOfAnUnknownNetwork) {
  model::Config config = guide_config();
  config.subnetworks[0].network = ref("other-network");
  const ConfigErrors errors = validate_config(config);
  expect_error(errors, kNetworkFile, "subnetworks[lb-subnet].network", "unresolved reference",
               "network \"other-network\"");
}

TEST(ValidateFrontends, SubnetworkOutsideTheRulesNetwork) {
  model::Config config = guide_config();
  model::Network other;
  other.origin = origin(kNetworkFile);
  other.name = "other-network";
  config.networks.push_back(other);
  config.subnetworks[0].network = ref("other-network");
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 2u) << format_errors(errors);
  expect_error(errors, kFrontendFile, "forwardingRules[http-rule].subnetwork", "network mismatch",
               "\"other-network\"", "\"lb-network\"");
  expect_error(errors, kFrontendFile, "forwardingRules[https-rule].subnetwork", "network mismatch");
}

TEST(ValidateFrontends, MissingProxyOnlySubnet) {
  model::Config config = guide_config();
  config.subnetworks.pop_back();
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 2u) << format_errors(errors);
  expect_error(errors, kFrontendFile, "forwardingRules[http-rule].network",
               "missing proxy-only subnet", "REGIONAL_MANAGED_PROXY", "region \"us-central1\"",
               "network \"lb-network\"");
  expect_error(errors, kFrontendFile, "forwardingRules[https-rule].network",
               "missing proxy-only subnet");
}

TEST(ValidateFrontends, BackupProxyOnlySubnetIsNotEnough) {
  model::Config config = guide_config();
  config.subnetworks[1].role = "BACKUP";
  config.forwarding_rules.pop_back();
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule].network",
                    "missing proxy-only subnet", "only a BACKUP one");
}

TEST(ValidateFrontends, ProxyOnlySubnetInAnotherRegionDoesNotCount) {
  model::Config config = guide_config();
  config.subnetworks[1].region = "europe-west1";
  config.forwarding_rules.pop_back();
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule].network",
                    "missing proxy-only subnet", "region \"us-central1\"");
}

TEST(ValidateFrontends, RuleWithoutNetworkUsesTheDeclaredNetwork) {
  model::Config config = guide_config();
  config.forwarding_rules.pop_back();
  config.forwarding_rules[0].network.reset();
  config.forwarding_rules[0].subnetwork.reset();
  EXPECT_TRUE(validate_config(config).empty());
  // Without the proxy-only subnet, the rule (which names no network) is reported as a whole.
  config.subnetworks.pop_back();
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule]",
                    "missing proxy-only subnet", "network \"lb-network\"");
}

TEST(ValidateFrontends, NoNetworkingDeclaredNeedsNoProxyOnlySubnet) {
  model::Config config = guide_config();
  config.networks.clear();
  config.subnetworks.clear();
  for (model::ForwardingRule& rule : config.forwarding_rules) {
    rule.network.reset();
    rule.subnetwork.reset();
  }
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateFrontends, RuleOnTheProxyOnlySubnet) {
  model::Config config = guide_config();
  config.forwarding_rules[0].subnetwork = ref("proxy-only-subnet");
  expect_only_error(config, kFrontendFile, "forwardingRules[http-rule].subnetwork",
                    "proxy-only subnet", "\"proxy-only-subnet\"", "REGIONAL_MANAGED_PROXY");
}

TEST(ValidateFrontends, TwoActiveProxyOnlySubnets) {
  model::Config config = guide_config();
  config.subnetworks.push_back(
      subnetwork("proxy-only-2", "10.130.0.0/23", "REGIONAL_MANAGED_PROXY", "ACTIVE"));
  expect_only_error(config, kNetworkFile, "subnetworks[proxy-only-2].role",
                    "second ACTIVE proxy-only subnet", "subnetworks[proxy-only-subnet]");
  config.subnetworks.back().role = "BACKUP";
  EXPECT_TRUE(validate_config(config).empty());
}

// ------------------------------------------------------------------ addresses

TEST(ValidateFrontends, TwoRulesOnTheSameAddressAndPort) {
  model::Config config = guide_config();
  config.forwarding_rules[1].port_range = "80";
  expect_only_error(config, kFrontendFile, "forwardingRules[https-rule].portRange",
                    "address conflict", "forwardingRules[http-rule]", "10.1.2.99");
}

TEST(ValidateFrontends, OverlappingPortRanges) {
  model::Config config = guide_config();
  config.forwarding_rules[0].port_range = "8000-8100";
  config.forwarding_rules[1].port_range = "8080-8080";
  expect_only_error(config, kFrontendFile, "forwardingRules[https-rule].portRange",
                    "address conflict");
}

TEST(ValidateFrontends, SameAddressWrittenDifferently) {
  model::Config config = guide_config();
  config.forwarding_rules[0].ip_address = "fd00::1";
  config.forwarding_rules[1].ip_address = "fd00:0:0::1";
  config.forwarding_rules[1].port_range = "80";
  expect_only_error(config, kFrontendFile, "forwardingRules[https-rule].portRange",
                    "address conflict");
}

TEST(ValidateFrontends, DifferentAddressesOrPortsDoNotConflict) {
  model::Config config = guide_config();
  config.forwarding_rules[1].port_range = "80";
  config.forwarding_rules[1].ip_address = "10.1.2.100";
  EXPECT_TRUE(validate_config(config).empty());
  config.forwarding_rules[0].ip_address.clear();  // ephemeral: chosen at bind time
  config.forwarding_rules[1].ip_address.clear();
  EXPECT_TRUE(validate_config(config).empty());
}

}  // namespace
}  // namespace albemu::config
