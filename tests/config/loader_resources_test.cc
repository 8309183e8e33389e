// load_config_text: Cloud Run stand-ins, NEGs, backend services, security policies and the
// frontend resources land in the model.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config {
namespace {

using testing::load_with;

TEST(Loader, CloudRunServicesUrlsAndTags) {
  LoadResult result = load_config_text(R"yaml(
region: us-east1
cloudRunServices:
- name: login
  ingress: internal
  url: http://login:8080
  tags:
    test: http://login-test:8080
    canary: [http://canary-1:8080, http://canary-2:8080]
    blue:
    green: []
- name: web
  region: europe-west4
  urls: [http://web-1:8080, http://web-2:8080]
- name: builtin
)yaml",
                                       "services.yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const auto& services = result.config.cloud_run_services;
  ASSERT_EQ(services.size(), 3u);
  EXPECT_EQ(services[0].ingress, "internal");
  EXPECT_EQ(services[0].region, "us-east1");
  EXPECT_EQ(services[0].project, "albemu-project");
  EXPECT_EQ(services[0].urls, std::vector<std::string>{"http://login:8080"});
  ASSERT_EQ(services[0].tags.size(), 4u);
  EXPECT_EQ(services[0].tags.at("test"), std::vector<std::string>{"http://login-test:8080"});
  EXPECT_EQ(services[0].tags.at("canary"),
            (std::vector<std::string>{"http://canary-1:8080", "http://canary-2:8080"}));
  EXPECT_TRUE(services[0].tags.at("blue").empty());
  EXPECT_TRUE(services[0].tags.at("green").empty());
  EXPECT_EQ(services[1].region, "europe-west4");
  EXPECT_EQ(services[1].ingress, "all");
  EXPECT_EQ(services[1].urls.size(), 2u);
  EXPECT_TRUE(services[2].urls.empty());
  EXPECT_TRUE(services[2].tags.empty());
}

TEST(Loader, NegsBackendServicesAndSecurityPolicies) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: web-backend
networkEndpointGroups:
- name: mask-neg
  description: by mask
  cloudRun:
    urlMask: <tag>.example.com/<service>
- name: tagged-neg
  networkEndpointType: SERVERLESS
  cloudRun: {service: login, tag: test}
backendServices:
- name: mask-backend
  description: masked
  protocol: HTTPS
  backends:
  - group: mask-neg
    balancingMode: UTILIZATION
    capacityScaler: 1.0
    description: the neg
  securityPolicy: rate-limit
  logConfig:
    enable: true
    sampleRate: 0.5
    optionalMode: CUSTOM
    optionalFields: [tls.protocol, mtls.clientCertPresent]
  sessionAffinity: NONE
  connectionDraining: {drainingTimeoutSec: 0}
securityPolicies:
- name: rate-limit
  type: CLOUD_ARMOR
  rules:
  - priority: 1000
    description: throttle everyone
    action: throttle
    preview: true
    match:
      versionedExpr: SRC_IPS_V1
      config:
        srcIpRanges: ["*"]
    rateLimitOptions:
      rateLimitThreshold: {count: 100, intervalSec: 60}
      conformAction: allow
      exceedAction: deny(429)
      enforceOnKey: HTTP_HEADER
      enforceOnKeyName: X-Client
  - priority: 2147483647
    action: deny(403)
    match:
      versionedExpr: SRC_IPS_V1
      config:
        srcIpRanges: [10.0.0.0/8, "2001:db8::/32", 192.168.1.1]
)yaml");
  const model::Config& config = result.config;
  ASSERT_EQ(config.network_endpoint_groups.size(), 4u);
  const model::NetworkEndpointGroup& mask = config.network_endpoint_groups[2];
  EXPECT_EQ(mask.description, "by mask");
  EXPECT_EQ(mask.network_endpoint_type, "SERVERLESS");
  ASSERT_TRUE(mask.cloud_run);
  EXPECT_EQ(mask.cloud_run->url_mask, "<tag>.example.com/<service>");
  EXPECT_FALSE(mask.cloud_run->service);
  const model::NetworkEndpointGroup& tagged = config.network_endpoint_groups[3];
  EXPECT_EQ(tagged.cloud_run->service, "login");
  EXPECT_EQ(tagged.cloud_run->tag, "test");

  ASSERT_EQ(config.backend_services.size(), 3u);
  const model::BackendService& backend = config.backend_services[2];
  EXPECT_EQ(backend.description, "masked");
  EXPECT_EQ(backend.load_balancing_scheme, "INTERNAL_MANAGED") << "the only scheme; default";
  EXPECT_EQ(backend.protocol, "HTTPS");
  ASSERT_EQ(backend.backends.size(), 1u);
  EXPECT_EQ(backend.backends[0].group.name, "mask-neg");
  EXPECT_EQ(backend.backends[0].balancing_mode, "UTILIZATION");
  EXPECT_EQ(backend.backends[0].capacity_scaler, 1.0);
  EXPECT_EQ(backend.backends[0].description, "the neg");
  EXPECT_EQ(backend.security_policy->name, "rate-limit");
  ASSERT_TRUE(backend.log_config);
  EXPECT_TRUE(backend.log_config->enable);
  EXPECT_EQ(backend.log_config->sample_rate, 0.5);
  EXPECT_EQ(backend.log_config->optional_mode, "CUSTOM");
  EXPECT_EQ(backend.log_config->optional_fields,
            (std::vector<std::string>{"tls.protocol", "mtls.clientCertPresent"}));
  EXPECT_EQ(config.backend_services[0].protocol, "HTTP");

  ASSERT_EQ(config.security_policies.size(), 1u);
  const model::SecurityPolicy& policy = config.security_policies[0];
  EXPECT_EQ(policy.type, "CLOUD_ARMOR");
  ASSERT_EQ(policy.rules.size(), 2u);
  const model::SecurityPolicyRule& throttle = policy.rules[0];
  EXPECT_EQ(throttle.priority, 1000);
  EXPECT_EQ(throttle.description, "throttle everyone");
  EXPECT_EQ(throttle.action, "throttle");
  EXPECT_TRUE(throttle.preview);
  EXPECT_EQ(throttle.match->versioned_expr, "SRC_IPS_V1");
  EXPECT_EQ(throttle.match->src_ip_ranges, std::vector<std::string>{"*"});
  ASSERT_TRUE(throttle.rate_limit_options);
  EXPECT_EQ(throttle.rate_limit_options->rate_limit_threshold.count, 100);
  EXPECT_EQ(throttle.rate_limit_options->rate_limit_threshold.interval_sec, 60);
  EXPECT_EQ(throttle.rate_limit_options->conform_action, "allow");
  EXPECT_EQ(throttle.rate_limit_options->exceed_action, "deny(429)");
  EXPECT_EQ(throttle.rate_limit_options->enforce_on_key, "HTTP_HEADER");
  EXPECT_EQ(throttle.rate_limit_options->enforce_on_key_name, "X-Client");
  EXPECT_EQ(policy.rules[1].action, "deny(403)");
  EXPECT_EQ(policy.rules[1].match->src_ip_ranges.size(), 3u);
  EXPECT_FALSE(policy.rules[1].rate_limit_options);
  EXPECT_TRUE(testing::no_error_at(result, "securityPolicies"));
  EXPECT_TRUE(testing::no_error_at(result, "networkEndpointGroups[mask-neg]"));
  EXPECT_TRUE(testing::no_error_at(result, "backendServices"));
}

TEST(Loader, FrontendResources) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: web-backend
sslCertificates:
- name: cert
  description: dev cert
  certificate: |
    -----BEGIN CERTIFICATE-----
    AAAA
    -----END CERTIFICATE-----
  privateKey: |
    -----BEGIN PRIVATE KEY-----
    BBBB
    -----END PRIVATE KEY-----
sslPolicies:
- name: modern
  profile: RESTRICTED
  minTlsVersion: TLS_1_3
- name: custom
  profile: CUSTOM
  minTlsVersion: TLS_1_2
  customFeatures: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
targetHttpsProxies:
- name: https-proxy
  description: tls
  urlMap: regions/europe-west1/urlMaps/lb-map
  httpKeepAliveTimeoutSec: 600
  sslCertificates: [cert]
  sslPolicy: modern
  quicOverride: NONE
  tlsEarlyData: DISABLED
forwardingRules:
- name: https-rule
  IPAddress: 10.1.2.99
  portRange: 443-443
  target: projects/my-project/regions/europe-west1/targetHttpsProxies/https-proxy
  network: https://www.googleapis.com/compute/v1/projects/my-project/global/networks/lb-network
  subnetwork: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/subnetworks/lb-subnet
  allowGlobalAccess: true
  networkTier: PREMIUM
  ipVersion: IPV4
  labels: {team: web}
)yaml");
  const model::Config& config = result.config;
  ASSERT_EQ(config.ssl_certificates.size(), 1u);
  EXPECT_EQ(config.ssl_certificates[0].description, "dev cert");
  EXPECT_NE(config.ssl_certificates[0].certificate.find("AAAA"), std::string::npos);
  EXPECT_NE(config.ssl_certificates[0].private_key.find("BBBB"), std::string::npos);
  ASSERT_EQ(config.ssl_policies.size(), 2u);
  EXPECT_EQ(config.ssl_policies[0].profile, "RESTRICTED");
  EXPECT_EQ(config.ssl_policies[0].min_tls_version, "TLS_1_3");
  EXPECT_EQ(config.ssl_policies[1].custom_features,
            std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});
  ASSERT_EQ(config.target_https_proxies.size(), 1u);
  const model::TargetHttpsProxy& proxy = config.target_https_proxies[0];
  EXPECT_EQ(proxy.description, "tls");
  EXPECT_EQ(proxy.url_map.name, "lb-map");
  EXPECT_EQ(proxy.url_map.collection, "urlMaps");
  EXPECT_EQ(proxy.http_keep_alive_timeout_sec, 600);
  ASSERT_EQ(proxy.ssl_certificates.size(), 1u);
  EXPECT_EQ(proxy.ssl_certificates[0].name, "cert");
  EXPECT_EQ(proxy.ssl_policy->name, "modern");
  EXPECT_FALSE(config.target_http_proxies.at(0).http_keep_alive_timeout_sec);
  ASSERT_EQ(config.forwarding_rules.size(), 2u);
  const model::ForwardingRule& http = config.forwarding_rules[0];
  EXPECT_EQ(http.ip_address, "10.1.2.99");
  EXPECT_EQ(http.ip_protocol, "TCP");
  EXPECT_EQ(http.port_range, "80");
  EXPECT_EQ(http.load_balancing_scheme, "INTERNAL_MANAGED");
  EXPECT_FALSE(http.allow_global_access);
  const model::ForwardingRule& https = config.forwarding_rules[1];
  EXPECT_EQ(https.port_range, "443-443");
  EXPECT_EQ(https.target.collection, "targetHttpsProxies");
  EXPECT_EQ(https.target.project, "my-project");
  EXPECT_EQ(https.network->name, "lb-network");
  EXPECT_EQ(https.network->region, "");
  EXPECT_EQ(https.subnetwork->name, "lb-subnet");
  EXPECT_EQ(https.subnetwork->region, "europe-west1");
  EXPECT_TRUE(https.allow_global_access);
  EXPECT_EQ(https.network_tier, "PREMIUM");
  EXPECT_TRUE(testing::no_error_at(result, "forwardingRules[https-rule]"));
  EXPECT_TRUE(testing::no_error_at(result, "sslPolicies"));
  EXPECT_TRUE(testing::no_error_at(result, "targetHttpsProxies"));
}

}  // namespace
}  // namespace albemu::config
