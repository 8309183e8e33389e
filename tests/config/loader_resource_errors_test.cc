// Field-level rules of every resource other than the URL map: each case adds one broken
// resource to the base config and expects the error at the exact field path.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config::resource_errors_test {
namespace {

struct ErrorCase {
  std::string label;
  std::string yaml;  // extra sections (flow style), loaded as a second document
  std::string path;
  std::string text;
};

void PrintTo(const ErrorCase& item, std::ostream* out) { *out << item.label; }

std::string backend(const std::string& fields) {
  return "backendServices: [{name: extra, backends: [{group: web-neg}], " + fields + "}]\n";
}
std::string neg(const std::string& fields) {
  return "networkEndpointGroups: [{name: extra-neg, " + fields + "}]\n";
}
std::string cloud_run(const std::string& fields) {
  return "cloudRunServices: [{name: extra-run, " + fields + "}]\n";
}
std::string policy_rule(const std::string& fields) {
  return "securityPolicies: [{name: armor, rules: [{priority: 10, " + fields + "}]}]\n";
}
const std::string kAllIps = "match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: ['*']}}";
std::string throttle(const std::string& options) {
  return policy_rule("action: throttle, " + kAllIps + ", rateLimitOptions: " + options);
}
std::string ssl_policy(const std::string& fields) {
  return "sslPolicies: [{name: tls, " + fields + "}]\n";
}
std::string certificate(const std::string& fields) {
  return "sslCertificates: [{name: cert, " + fields + "}]\n";
}
const std::string kPem =
    "certificate: '-----BEGIN CERTIFICATE-----', privateKey: '-----BEGIN PRIVATE KEY-----'";
std::string http_proxy(const std::string& fields) {
  return "targetHttpProxies: [{name: extra-proxy, urlMap: lb-map, " + fields + "}]\n";
}
std::string https_proxy(const std::string& fields) {
  return certificate(kPem) + "targetHttpsProxies: [{name: tls-proxy, urlMap: lb-map, " + fields +
         "}]\n";
}
std::string forwarding_rule(const std::string& fields) {
  return "forwardingRules: [{name: extra-rule, target: http-proxy, " + fields + "}]\n";
}
std::string subnetwork(const std::string& fields) {
  return "subnetworks: [{name: extra-subnet, " + fields + "}]\n";
}

std::string certificate_list(int count) {
  std::string list = "[";
  for (int i = 0; i < count; ++i) list += std::string(i > 0 ? ", " : "") + "cert";
  return list + "]";
}

const std::string kBackend = "backendServices[extra]";
const std::string kNeg = "networkEndpointGroups[extra-neg]";
const std::string kRun = "cloudRunServices[extra-run]";
const std::string kRule = "securityPolicies[armor].rules[0]";
const std::string kRate = kRule + ".rateLimitOptions";
const std::string kSslPolicy = "sslPolicies[tls]";
const std::string kCert = "sslCertificates[cert]";
const std::string kHttpProxy = "targetHttpProxies[extra-proxy]";
const std::string kHttpsProxy = "targetHttpsProxies[tls-proxy]";
const std::string kForwardingRule = "forwardingRules[extra-rule]";
const std::string kSubnet = "subnetworks[extra-subnet]";

std::vector<ErrorCase> cases() {
  return {
      // backend services
      {"BackendTimeoutSec", backend("timeoutSec: 30"), kBackend + ".timeoutSec",
       "Timeout sec is not supported for a backend service with Serverless network endpoint "
       "groups"},
      {"BackendHealthChecks", backend("healthChecks: [hc]"), kBackend + ".healthChecks",
       "health checks are not supported"},
      {"BackendSessionAffinity", backend("sessionAffinity: CLIENT_IP"),
       kBackend + ".sessionAffinity", "sessionAffinity is not supported"},
      {"BackendLocalityLbPolicy", backend("localityLbPolicy: ROUND_ROBIN"),
       kBackend + ".localityLbPolicy", "localityLbPolicy is not supported"},
      {"BackendOutlierDetection", backend("outlierDetection: {consecutiveErrors: 5}"),
       kBackend + ".outlierDetection", "outlierDetection is not supported"},
      {"BackendScheme", backend("loadBalancingScheme: EXTERNAL_MANAGED"),
       kBackend + ".loadBalancingScheme",
       "loadBalancingScheme 'EXTERNAL_MANAGED' is not supported; albemu emulates "
       "INTERNAL_MANAGED only"},
      {"BackendProtocol", backend("protocol: GRPC"), kBackend + ".protocol",
       "'GRPC' is not one of HTTP, HTTPS, HTTP2, H2C"},
      {"BackendCapacityScaler",
       "backendServices: [{name: extra, backends: [{group: web-neg, capacityScaler: 2}]}]\n",
       kBackend + ".backends[0].capacityScaler", "out of range [0, 1]"},
      {"BackendCdnEnabled", backend("enableCDN: true"), kBackend + ".enableCDN",
       "Cloud CDN is not supported by internal Application Load Balancers"},
      {"BackendCapacityScalerBelowTenth",
       "backendServices: [{name: extra, backends: [{group: web-neg, capacityScaler: 0.05}]}]\n",
       kBackend + ".backends[0].capacityScaler", "must be 0 or between 0.1 and 1.0"},
      {"BackendOnlyBackendDrained",
       "backendServices: [{name: extra, backends: [{group: web-neg, capacityScaler: 0}]}]\n",
       kBackend + ".backends[0].capacityScaler", "cannot be 0 (drained) for the only backend"},
      {"BackendGroupMissing",
       "backendServices: [{name: extra, backends: [{balancingMode: RATE}]}]\n",
       kBackend + ".backends[0].group", "is required"},
      {"BackendUnknownField", "backendServices: [{name: extra, backends: [{grup: web-neg}]}]\n",
       kBackend + ".backends[0].grup", "unknown field 'grup' (did you mean 'group'?)"},
      {"BackendIapEnabled", backend("iap: {enabled: true}"), kBackend + ".iap",
       "IAP is not supported"},
      {"BackendSampleRate", backend("logConfig: {enable: true, sampleRate: 1.5}"),
       kBackend + ".logConfig.sampleRate", "out of range"},
      {"BackendLogEnableNotBool", backend("logConfig: {enable: maybe}"),
       kBackend + ".logConfig.enable", "expected true or false"},
      {"BackendLogOptionalMode", backend("logConfig: {enable: true, optionalMode: SOME}"),
       kBackend + ".logConfig.optionalMode",
       "'SOME' is not one of INCLUDE_ALL_OPTIONAL, EXCLUDE_ALL_OPTIONAL, CUSTOM"},
      {"BackendLogFieldsWithoutCustom",
       backend("logConfig: {enable: true, optionalFields: [tls.protocol]}"),
       kBackend + ".logConfig.optionalFields",
       "optionalFields can only be set when optionalMode is CUSTOM"},
      {"BackendLogUnknownField",
       backend("logConfig: {enable: true, optionalMode: CUSTOM, optionalFields: [serverInstance]}"),
       kBackend + ".logConfig.optionalFields[0]",
       "'serverInstance' is not an optional field of the internal Application Load Balancer's "
       "log"},
      {"BackendBadName", "backendServices: [{name: 9lives}]\n", "backendServices[9lives].name",
       "must be 1-63 characters"},

      // serverless NEGs
      {"NegAppEngine", neg("appEngine: {service: s}"), kNeg + ".appEngine",
       "regional internal Application Load Balancers accept only Cloud Run serverless NEGs"},
      {"NegCloudFunction", neg("cloudFunction: {function: f}"), kNeg + ".cloudFunction",
       "accept only Cloud Run"},
      {"NegType", neg("networkEndpointType: GCE_VM_IP_PORT, cloudRun: {service: web}"),
       kNeg + ".networkEndpointType", "networkEndpointType must be SERVERLESS"},
      {"NegWithoutCloudRun", neg("networkEndpointType: SERVERLESS"), kNeg + ".cloudRun",
       "missing cloudRun"},
      {"NegCloudRunEmpty", neg("cloudRun: {tag: a}"), kNeg + ".cloudRun",
       "cloudRun needs a service or a urlMask"},
      {"NegBadServiceName", neg("cloudRun: {service: My_Service}"), kNeg + ".cloudRun.service",
       "must be 1-63 characters"},
      {"NegBadTag", neg("cloudRun: {service: web, tag: Blue}"), kNeg + ".cloudRun.tag",
       "must be 1-63 characters"},
      {"NegMaskWithoutService", neg("cloudRun: {urlMask: /<tag>}"), kNeg + ".cloudRun.urlMask",
       "has no <service> placeholder"},
      {"NegCloudRunUnknownField", neg("cloudRun: {servce: web}"), kNeg + ".cloudRun.servce",
       "unknown field"},

      // Cloud Run stand-ins
      {"RunIngress", cloud_run("ingress: public"), kRun + ".ingress",
       "'public' is not one of all, internal, internal-and-cloud-load-balancing"},
      {"RunUrlNotHttp", cloud_run("url: 'login:8080'"), kRun + ".url",
       "must be an http:// or https:// URL"},
      {"RunUrlsNotHttp", cloud_run("urls: ['http://a:1', 'ftp://b']"), kRun + ".urls[1]",
       "must be an http:// or https:// URL"},
      {"RunUrlAndUrls", cloud_run("url: 'http://a:1', urls: ['http://b:1']"), kRun,
       "only one of url and urls may be set"},
      {"RunBadTag", cloud_run("tags: {Blue: 'http://b:1'}"), kRun + ".tags.Blue",
       "tag 'Blue' must be 1-63 characters"},
      {"RunTagBadUrl", cloud_run("tags: {blue: ['http://b:1', 'b:1']}"), kRun + ".tags.blue[1]",
       "must be an http:// or https:// URL"},
      {"RunTagsNotMap", cloud_run("tags: [blue]"), kRun + ".tags",
       "expected a mapping of tag -> url or list of urls"},
      {"RunUnknownField", cloud_run("image: gcr.io/x"), kRun + ".image", "unknown field"},

      // Cloud Armor
      {"ArmorCountZero",
       throttle("{rateLimitThreshold: {count: 0, intervalSec: 60}, "
                "exceedAction: deny(429)}"),
       kRate + ".rateLimitThreshold.count", "value 0 is out of range [1, 1000000]"},
      {"ArmorCountTooLarge",
       throttle("{rateLimitThreshold: {count: 1000001, intervalSec: 60}, "
                "exceedAction: deny(429)}"),
       kRate + ".rateLimitThreshold.count", "out of range [1, 1000000]"},
      {"ArmorInterval",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 45}, "
                "exceedAction: deny(429)}"),
       kRate + ".rateLimitThreshold.intervalSec", "intervalSec must be one of 10, 30, 60"},
      {"ArmorExceedAction",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}, "
                "exceedAction: deny(400)}"),
       kRate + ".exceedAction",
       "exceedAction 'deny(400)' must be deny(403), deny(404), deny(429) or deny(502)"},
      {"ArmorExceedActionMissing", throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}}"),
       kRate + ".exceedAction", "is required"},
      {"ArmorEnforceOnKey",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}, "
                "exceedAction: deny(429), enforceOnKey: REGION_CODE}"),
       kRate + ".enforceOnKey",
       "'REGION_CODE' is not one of ALL, IP, HTTP_HEADER, XFF_IP, HTTP_PATH, HTTP_COOKIE, SNI, "
       "TLS_JA3_FINGERPRINT, TLS_JA4_FINGERPRINT"},
      {"ArmorEnforceOnKeyName",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}, "
                "exceedAction: deny(429), enforceOnKey: HTTP_COOKIE}"),
       kRate + ".enforceOnKeyName", "is required when enforceOnKey is HTTP_COOKIE"},
      {"ArmorConformAction",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}, "
                "exceedAction: deny(429), conformAction: deny(403)}"),
       kRate + ".conformAction", "is not one of allow"},
      {"ArmorBanThreshold",
       throttle("{rateLimitThreshold: {count: 10, intervalSec: 60}, "
                "exceedAction: deny(429), banThreshold: {count: 1}}"),
       kRate + ".banThreshold", "only applies to the rate_based_ban action"},
      {"ArmorThresholdMissing", throttle("{exceedAction: deny(429)}"),
       kRate + ".rateLimitThreshold", "is required"},
      {"ArmorThrottleWithoutOptions", policy_rule("action: throttle, " + kAllIps),
       kRule + ".rateLimitOptions", "is required when action is throttle"},
      {"ArmorOptionsWithAllow",
       policy_rule("action: allow, " + kAllIps +
                   ", rateLimitOptions: {rateLimitThreshold: {count: 1, intervalSec: 10}, "
                   "exceedAction: deny(429)}"),
       kRule + ".rateLimitOptions", "only allowed with action throttle"},
      {"ArmorAction", policy_rule("action: rate_based_ban, " + kAllIps), kRule + ".action",
       "must be allow, deny(403), deny(404), deny(429), deny(502) or throttle"},
      {"ArmorBadIpRange",
       policy_rule("action: allow, match: {versionedExpr: SRC_IPS_V1, config: {srcIpRanges: "
                   "[10.0.0.0/33]}}"),
       kRule + ".match.config.srcIpRanges[0]", "'10.0.0.0/33' is not an IP address or CIDR range"},
      {"ArmorJsonParsing",
       "securityPolicies: [{name: armor, advancedOptionsConfig: {jsonParsing: STANDARD}}]\n",
       "securityPolicies[armor].advancedOptionsConfig.jsonParsing",
       "jsonParsing other than DISABLED is not supported"},
      {"ArmorJsonCustomConfig",
       "securityPolicies: [{name: armor, advancedOptionsConfig: {jsonCustomConfig: "
       "{contentTypes: [a/b]}}}]\n",
       "securityPolicies[armor].advancedOptionsConfig.jsonCustomConfig",
       "jsonCustomConfig is not supported"},
      {"ArmorLogLevel",
       "securityPolicies: [{name: armor, advancedOptionsConfig: {logLevel: LOUD}}]\n",
       "securityPolicies[armor].advancedOptionsConfig.logLevel", "'LOUD' is not one of"},
      {"ArmorUserIpHeader",
       "securityPolicies: [{name: armor, advancedOptionsConfig: {userIpRequestHeaders: "
       "['bad header']}}]\n",
       "securityPolicies[armor].advancedOptionsConfig.userIpRequestHeaders[0]",
       "'bad header' is not a valid header name"},
      {"ArmorExpr", policy_rule("action: allow, match: {expr: {expression: 'true'}}"),
       kRule + ".match.expr", "CEL expressions are not supported"},
      {"ArmorVersionedExpr",
       policy_rule("action: allow, match: {versionedExpr: FOO, config: {srcIpRanges: ['*']}}"),
       kRule + ".match.versionedExpr", "is not one of SRC_IPS_V1"},
      {"ArmorMatchMissing", policy_rule("action: allow"), kRule + ".match", "is required"},
      {"ArmorDuplicatePriority",
       "securityPolicies: [{name: armor, rules: [{priority: 1, action: allow, " + kAllIps +
           "}, {priority: 1, action: deny(403), " + kAllIps + "}]}]\n",
       "securityPolicies[armor].rules[1].priority", "priority 1 is already used"},
      {"ArmorPolicyType", "securityPolicies: [{name: armor, type: CLOUD_ARMOR_EDGE}]\n",
       "securityPolicies[armor].type", "is not one of CLOUD_ARMOR"},

      // SSL policies and certificates
      {"SslPolicyProfile", ssl_policy("profile: STRONG"), kSslPolicy + ".profile",
       "'STRONG' is not one of COMPATIBLE, MODERN, RESTRICTED, FIPS_202205, CUSTOM"},
      {"SslPolicyMinVersion", ssl_policy("minTlsVersion: TLS_1_4"), kSslPolicy + ".minTlsVersion",
       "'TLS_1_4' is not one of TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3"},
      {"SslPolicyTls13NeedsRestricted", ssl_policy("profile: MODERN, minTlsVersion: TLS_1_3"),
       kSslPolicy + ".minTlsVersion", "minTlsVersion TLS_1_3 requires profile RESTRICTED"},
      {"SslPolicyCustomFeatures",
       ssl_policy("profile: MODERN, customFeatures: [TLS_RSA_WITH_AES_128_GCM_SHA256]"),
       kSslPolicy + ".customFeatures", "customFeatures may only be set with profile CUSTOM"},
      {"SslPolicyFips", ssl_policy("profile: FIPS_202205, minTlsVersion: TLS_1_0"),
       kSslPolicy + ".minTlsVersion", "profile FIPS_202205 requires minTlsVersion TLS_1_2"},
      {"CertificateMissing", certificate("privateKey: '-----BEGIN PRIVATE KEY-----'"), kCert,
       "one of certificate and certificateFile is required"},
      {"PrivateKeyMissing", certificate("certificate: '-----BEGIN CERTIFICATE-----'"), kCert,
       "one of privateKey and privateKeyFile is required"},
      {"CertificateAndFile", certificate(kPem + ", certificateFile: x.crt"), kCert,
       "only one of certificate and certificateFile may be set"},
      {"CertificateNotPem", certificate("certificate: hello, privateKey: '-----BEGIN KEY-----'"),
       kCert + ".certificate", "is not PEM text"},
      {"CertificateManaged", certificate(kPem + ", type: MANAGED"), kCert + ".type",
       "type 'MANAGED' is not supported"},

      // target proxies
      {"KeepaliveTooShort", http_proxy("httpKeepAliveTimeoutSec: 4"),
       kHttpProxy + ".httpKeepAliveTimeoutSec",
       "httpKeepAliveTimeoutSec must be between 5 and 600 seconds (got 4)"},
      {"KeepaliveTooLong", http_proxy("httpKeepAliveTimeoutSec: '601'"),
       kHttpProxy + ".httpKeepAliveTimeoutSec", "between 5 and 600 seconds (got 601)"},
      {"HttpProxyWithoutUrlMap", "targetHttpProxies: [{name: extra-proxy}]\n",
       kHttpProxy + ".urlMap", "is required"},
      {"HttpsProxyKeepalive", https_proxy("sslCertificates: [cert], httpKeepAliveTimeoutSec: 1200"),
       kHttpsProxy + ".httpKeepAliveTimeoutSec", "between 5 and 600"},
      {"HttpsProxyTlsEarlyData", https_proxy("sslCertificates: [cert], tlsEarlyData: STRICT"),
       kHttpsProxy + ".tlsEarlyData",
       "tlsEarlyData 'STRICT' is not supported by albemu: TLS early data (0-RTT) is not "
       "implemented"},
      {"HttpsProxyTooManyCertificates", https_proxy("sslCertificates: " + certificate_list(16)),
       kHttpsProxy + ".sslCertificates",
       "at most 15 SSL certificates are allowed per target HTTPS proxy (got 16)"},
      {"HttpsProxyNoCertificates", https_proxy("sslCertificates: []"),
       kHttpsProxy + ".sslCertificates", "at least one SSL certificate is required"},
      {"HttpsProxyMissingCertificates", https_proxy("description: x"),
       kHttpsProxy + ".sslCertificates", "at least one SSL certificate is required"},
      {"HttpsProxyCertificateMap", https_proxy("sslCertificates: [cert], certificateMap: m"),
       kHttpsProxy + ".certificateMap", "only supported by global external"},
      {"HttpsProxyServerTlsPolicy",
       https_proxy("sslCertificates: [cert], serverTlsPolicy: 'locations/l/serverTlsPolicies/p'"),
       kHttpsProxy + ".serverTlsPolicy", "is not a serverTlsPolicies reference"},
      {"HttpsProxyQuicOverride", https_proxy("sslCertificates: [cert], quicOverride: ON"),
       kHttpsProxy + ".quicOverride", "'ON' is not one of NONE, ENABLE, DISABLE"},
      {"HttpsProxyQuicEnabled", https_proxy("sslCertificates: [cert], quicOverride: ENABLE"),
       kHttpsProxy + ".quicOverride", "do not negotiate QUIC (HTTP/3); use NONE or DISABLE"},
      {"HttpsProxyBadCertificateRef", https_proxy("sslCertificates: ['a/b/c']"),
       kHttpsProxy + ".sslCertificates[0]", "is not a resource reference"},

      // forwarding rules
      {"PortRangeNotSingle", forwarding_rule("portRange: 80-81"), kForwardingRule + ".portRange",
       "portRange '80-81' must be a single port for an Application Load Balancer"},
      {"PortRangeNotNumber", forwarding_rule("portRange: http"), kForwardingRule + ".portRange",
       "must be a port (1-65535)"},
      {"PortRangeZero", forwarding_rule("portRange: 0"), kForwardingRule + ".portRange",
       "must be a port (1-65535)"},
      {"PortRangeMissing", forwarding_rule("IPAddress: 10.1.2.3"), kForwardingRule + ".portRange",
       "is required"},
      {"ForwardingRuleScheme", forwarding_rule("portRange: 81, loadBalancingScheme: EXTERNAL"),
       kForwardingRule + ".loadBalancingScheme", "'EXTERNAL' is not supported"},
      {"ForwardingRuleProtocol", forwarding_rule("portRange: 81, IPProtocol: UDP"),
       kForwardingRule + ".IPProtocol", "'UDP' is not one of TCP"},
      {"ForwardingRulePorts", forwarding_rule("portRange: 81, ports: ['81']"),
       kForwardingRule + ".ports", "is for passthrough load balancers"},
      {"ForwardingRuleAllPorts", forwarding_rule("portRange: 81, allPorts: true"),
       kForwardingRule + ".allPorts", "is for passthrough load balancers"},
      {"ForwardingRuleTargetMissing", "forwardingRules: [{name: extra-rule, portRange: 81}]\n",
       kForwardingRule + ".target", "is required"},
      {"ForwardingRuleTier", forwarding_rule("portRange: 81, networkTier: GOLD"),
       kForwardingRule + ".networkTier", "is not one of PREMIUM, STANDARD"},
      {"ForwardingRuleStandardTier", forwarding_rule("portRange: 81, networkTier: STANDARD"),
       kForwardingRule + ".networkTier", "networkTier STANDARD is for external IP addresses"},
      {"ForwardingRuleGlobalAccess",
       forwarding_rule("portRange: 81, allowGlobalAccess: yes please"),
       kForwardingRule + ".allowGlobalAccess", "expected true or false"},

      // networks
      {"SubnetBadRange", subnetwork("network: lb-network, ipCidrRange: 10.0.0.0/40"),
       kSubnet + ".ipCidrRange", "'10.0.0.0/40' is not an IP address or CIDR range"},
      {"SubnetMissingRange", subnetwork("network: lb-network"), kSubnet + ".ipCidrRange",
       "is required"},
      {"SubnetMissingNetwork", subnetwork("ipCidrRange: 10.0.0.0/24"), kSubnet + ".network",
       "is required"},
      {"SubnetRole", subnetwork("network: lb-network, ipCidrRange: 10.0.0.0/24, role: MAIN"),
       kSubnet + ".role", "'MAIN' is not one of ACTIVE, BACKUP"},
      {"SubnetPurpose", subnetwork("network: lb-network, ipCidrRange: 10.0.0.0/24, purpose: LB"),
       kSubnet + ".purpose", "'LB' is not one of"},
      {"NetworkUnknownField", "networks: [{name: other, autoCreate: true}]\n",
       "networks[other].autoCreate", "unknown field 'autoCreate'"},
      {"NetworkDescriptionTooLong",
       "networks: [{name: other, description: " + std::string(1025, 'd') + "}]\n",
       "networks[other].description", "must be at most 1024 characters"},
  };
}

class ResourceErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ResourceErrors, ReportedAtTheFieldPath) {
  const ErrorCase& item = GetParam();
  std::string yaml = std::string(testing::kMinimalUrlMap) + item.yaml;
  LoadResult result = testing::load_with(yaml);
  EXPECT_TRUE(testing::has_error(result, item.path, item.text)) << "YAML:\n" << yaml;
}

INSTANTIATE_TEST_SUITE_P(Loader, ResourceErrors, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return info.param.label;
                         });

TEST(ResourceErrors, ShortUnknownFieldsGetNoSuggestion) {
  LoadResult result = testing::load_with(std::string(testing::kMinimalUrlMap) +
                                         "networks: [{name: other, ip: x}]\n");
  EXPECT_TRUE(testing::has_error(result, "networks[other].ip", "unknown field 'ip'"));
  EXPECT_FALSE(testing::has_error(result, "networks[other].ip", "did you mean"));
}

TEST(ResourceErrors, DescribeOutputOfANetworkIsAccepted) {
  LoadResult result = testing::load_with(std::string(testing::kMinimalUrlMap) + R"yaml(
networks:
- name: other
  autoCreateSubnetworks: false
  mtu: 1460
  networkFirewallPolicyEnforcementOrder: AFTER_CLASSIC_FIREWALL
  routingConfig: {routingMode: REGIONAL}
  selfLink: https://www.googleapis.com/compute/v1/projects/my-project/global/networks/other
  x_gcloud_bgp_routing_mode: REGIONAL
  x_gcloud_subnet_mode: CUSTOM
)yaml");
  EXPECT_TRUE(testing::no_error_at(result, "networks[other]"));
}

TEST(ResourceErrors, ExportDefaultsAreAccepted) {
  // What `gcloud ... export` writes for a serverless backend service and a forwarding rule.
  LoadResult result = testing::load_with(std::string(testing::kMinimalUrlMap) + R"yaml(
backendServices:
- name: exported
  kind: compute#backendService
  backends:
  - group: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/networkEndpointGroups/web-neg
    balancingMode: UTILIZATION
    capacityScaler: 1.0
  connectionDraining:
    drainingTimeoutSec: 0
  loadBalancingScheme: INTERNAL_MANAGED
  protocol: HTTPS
  sessionAffinity: NONE
  iap: {enabled: false}
  port: 80
  portName: http
  affinityCookieTtlSec: 0
  region: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1
  fingerprint: abc=
)yaml");
  EXPECT_TRUE(testing::no_error_at(result, "backendServices[exported]"));
}

}  // namespace
}  // namespace albemu::config::resource_errors_test
