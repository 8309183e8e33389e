#include "proxy/core/snapshot.h"

#include <gtest/gtest.h>

#include <string>

namespace albemu::core {
namespace {

/// Listeners `fp-rule` (HTTPS, URL map fp-map), `plain-rule` (HTTPS, plain-map) and `http-rule`
/// (HTTP, fp-map); fp-map adds `fp_header_value` to a request at path-matcher level.
/// `key`: the enforceOnKey of a throttle rule on the backend service (empty: no policy).
std::string config_yaml(const std::string& fp_header_value, const std::string& key = "") {
  std::string yaml = R"(
project: p
region: us-central1
cloudRunServices:
  - name: app
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun: {service: app}
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: app-neg}]
)";
  if (!key.empty()) {
    yaml += "    securityPolicy: edge\n";
    yaml += R"(securityPolicies:
  - name: edge
    type: CLOUD_ARMOR
    rules:
      - priority: 100
        action: throttle
        match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ["*"]}}
        rateLimitOptions:
          exceedAction: deny(429)
          enforceOnKey: )" +
            key + R"(
          rateLimitThreshold: {count: 3, intervalSec: 60}
      - priority: 2147483647
        action: allow
        match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ["*"]}}
)";
  }
  yaml += R"(urlMaps:
  - name: fp-map
    defaultService: app-bs
    hostRules: [{hosts: ["*"], pathMatcher: all}]
    pathMatchers:
      - name: all
        defaultService: app-bs
        headerAction:
          requestHeadersToAdd:
            - headerName: x-fingerprint
              headerValue: ")" +
          fp_header_value + R"("
  - name: plain-map
    defaultService: app-bs
sslCertificates:
  - name: cert
    certificate: |
      -----BEGIN CERTIFICATE-----
      AAAA
      -----END CERTIFICATE-----
    privateKey: |
      -----BEGIN PRIVATE KEY-----
      AAAA
      -----END PRIVATE KEY-----
targetHttpsProxies:
  - {name: fp-proxy, urlMap: fp-map, sslCertificates: [cert]}
  - {name: plain-proxy, urlMap: plain-map, sslCertificates: [cert]}
targetHttpProxies:
  - {name: http-proxy, urlMap: fp-map}
forwardingRules:
  - {name: fp-rule, IPAddress: 127.0.0.1, portRange: "443", target: targetHttpsProxies/fp-proxy}
  - {name: plain-rule, IPAddress: 127.0.0.1, portRange: "8443", target: targetHttpsProxies/plain-proxy}
  - {name: http-rule, IPAddress: 127.0.0.1, portRange: "80", target: targetHttpProxies/http-proxy}
)";
  return yaml;
}

/// Which of fp-rule, plain-rule and http-rule compute fingerprints, as "fp plain http" bits.
std::string fingerprinting_listeners(const std::string& yaml) {
  const SnapshotResult result = build_snapshot(config::load_config_text(yaml, "test.yaml"), 1);
  EXPECT_TRUE(result.errors.empty()) << config::format_errors(result.errors);
  if (!result.snapshot) return "no snapshot";
  std::string out;
  for (const char* rule : {"fp-rule", "plain-rule", "http-rule"}) {
    const ListenerPlan* plan = result.snapshot->find_listener(rule);
    if (plan == nullptr) return std::string("no listener ") + rule;
    out += plan->tls_fingerprints ? '1' : '0';
  }
  return out;
}

TEST(SnapshotTest, OnlyListenersWhoseUrlMapUsesAFingerprintComputeIt) {
  EXPECT_EQ(fingerprinting_listeners(config_yaml("{tls_ja3_fingerprint}")), "100");
  EXPECT_EQ(fingerprinting_listeners(config_yaml("ja4={tls_ja4_fingerprint};")), "100");
  EXPECT_EQ(fingerprinting_listeners(config_yaml("{tls_sni_hostname}")), "000");
  EXPECT_EQ(fingerprinting_listeners(config_yaml("tls_ja3_fingerprint")), "000");
}

TEST(SnapshotTest, ARateLimitKeyedOnAFingerprintTurnsThemOnForEveryHttpsListener) {
  EXPECT_EQ(fingerprinting_listeners(config_yaml("x", "TLS_JA3_FINGERPRINT")), "110");
  EXPECT_EQ(fingerprinting_listeners(config_yaml("x", "TLS_JA4_FINGERPRINT")), "110");
  EXPECT_EQ(fingerprinting_listeners(config_yaml("x", "IP")), "000");
}

}  // namespace
}  // namespace albemu::core
