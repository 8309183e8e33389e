// sslCertificates, sslPolicies, targetHttpProxies, targetHttpsProxies and forwardingRules.

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"

namespace albemu::config {

namespace {

constexpr size_t kMaxSslCertificates = 15;

void read_keepalive(FieldReader& reader, std::optional<int64_t>* out) {
  YamlCursor field = reader.take("httpKeepAliveTimeoutSec");
  if (std::optional<int64_t> value = field.as_int64(INT64_MIN, INT64_MAX)) {
    if (*value < 5 || *value > 600) {
      field.error("httpKeepAliveTimeoutSec must be between 5 and 600 seconds (got " +
                  std::to_string(*value) + ")");
    } else {
      *out = *value;
    }
  }
}

// portRange of an Application Load Balancer rule: one port, `80` or `443-443`.
void check_port_range(const YamlCursor& field, const std::string& text) {
  auto parse_port = [](std::string_view part) -> int {
    int value = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size()) return -1;
    return value;
  };
  std::string_view range(text);
  size_t dash = range.find('-');
  int first = parse_port(range.substr(0, dash));
  int last = dash == std::string_view::npos ? first : parse_port(range.substr(dash + 1));
  if (first < 1 || first > 65535 || last < 1 || last > 65535) {
    field.error("portRange '" + text + "' must be a port (1-65535) such as 80 or 443-443");
  } else if (first != last) {
    field.error("portRange '" + text +
                "' must be a single port for an Application Load Balancer (e.g. 80 or 443-443)");
  }
}

}  // namespace

std::string read_pem(FieldReader& reader, std::string_view inline_key, std::string_view file_key,
                     std::string* file_out) {
  YamlCursor inline_field = reader.take(inline_key);
  YamlCursor file_field = reader.take(file_key);
  if (inline_field.present() && file_field.present()) {
    reader.cursor().error("only one of " + std::string(inline_key) + " and " +
                          std::string(file_key) + " may be set");
  }
  std::string pem;
  YamlCursor source = inline_field;
  if (std::optional<std::string> text = inline_field.as_string()) {
    pem = *text;
    if (pem.empty()) {
      inline_field.error("must not be empty");
      return pem;
    }
  } else if (std::optional<std::string> file = file_field.as_string()) {
    source = file_field;
    std::optional<std::string> content = read_config_relative_file(file_field, *file, file_out);
    if (!content) return {};
    pem = std::move(*content);
    if (pem.empty()) {
      file_field.error("'" + *file_out + "' is empty");
      return pem;
    }
  } else if (!inline_field.present() && !file_field.present()) {
    if (reader.valid()) {
      reader.cursor().error("one of " + std::string(inline_key) + " and " + std::string(file_key) +
                            " is required");
    }
    return pem;
  }
  if (!pem.empty() && pem.find("-----BEGIN ") == std::string::npos) {
    source.error("is not PEM text (no '-----BEGIN' line)");
  }
  return pem;
}

model::SslCertificate parse_ssl_certificate(const YamlCursor& resource,
                                            const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::SslCertificate certificate;
  read_resource_header(resource, reader, defaults, certificate);
  YamlCursor type = reader.take("type");
  if (std::optional<std::string> value = type.as_string(); value && *value != "SELF_MANAGED") {
    type.error("type '" + *value +
               "' is not supported; internal Application Load Balancers take SELF_MANAGED "
               "certificates");
  }
  reader.reject("managed",
                "Google-managed certificates are not supported by internal Application Load "
                "Balancers");
  certificate.certificate =
      read_pem(reader, "certificate", "certificateFile", &certificate.certificate_file);
  certificate.private_key =
      read_pem(reader, "privateKey", "privateKeyFile", &certificate.private_key_file);
  return certificate;
}

model::SslPolicy parse_ssl_policy(const YamlCursor& resource, const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::SslPolicy policy;
  read_resource_header(resource, reader, defaults, policy);
  YamlCursor profile = reader.take("profile");
  policy.profile = profile.as_string().value_or("COMPATIBLE");
  YamlCursor min_version = reader.take("minTlsVersion");
  policy.min_tls_version = min_version.as_string().value_or("TLS_1_0");
  bool profile_ok = false;
  for (std::string_view value : {"COMPATIBLE", "MODERN", "RESTRICTED", "FIPS_202205", "CUSTOM"}) {
    profile_ok = profile_ok || policy.profile == value;
  }
  if (!profile_ok) {
    profile.error("'" + policy.profile +
                  "' is not one of COMPATIBLE, MODERN, RESTRICTED, FIPS_202205, CUSTOM");
  }
  bool version_ok = false;
  for (std::string_view value : {"TLS_1_0", "TLS_1_1", "TLS_1_2", "TLS_1_3"}) {
    version_ok = version_ok || policy.min_tls_version == value;
  }
  if (!version_ok) {
    min_version.error("'" + policy.min_tls_version +
                      "' is not one of TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3");
  } else if (profile_ok && policy.min_tls_version == "TLS_1_3" && policy.profile != "RESTRICTED") {
    min_version.error("minTlsVersion TLS_1_3 requires profile RESTRICTED");
  } else if (profile_ok && policy.profile == "FIPS_202205" && policy.min_tls_version != "TLS_1_2") {
    min_version.error("profile FIPS_202205 requires minTlsVersion TLS_1_2");
  }
  YamlCursor features = reader.take("customFeatures");
  policy.custom_features = features.as_string_list();
  if (!policy.custom_features.empty() && policy.profile != "CUSTOM") {
    features.error("customFeatures may only be set with profile CUSTOM");
  }
  reader.optional_enum("postQuantumKeyExchange", {"DEFAULT", "ENABLED", "DEFERRED"});
  return policy;
}

model::TargetHttpProxy parse_target_http_proxy(const YamlCursor& resource,
                                               const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::TargetHttpProxy proxy;
  read_resource_header(resource, reader, defaults, proxy);
  proxy.url_map = complete_reference(reader.required_reference("urlMap"), proxy);
  read_keepalive(reader, &proxy.http_keep_alive_timeout_sec);
  reader.ignore({"proxyBind"});
  return proxy;
}

model::TargetHttpsProxy parse_target_https_proxy(const YamlCursor& resource,
                                                 const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::TargetHttpsProxy proxy;
  read_resource_header(resource, reader, defaults, proxy);
  proxy.url_map = complete_reference(reader.required_reference("urlMap"), proxy);
  read_keepalive(reader, &proxy.http_keep_alive_timeout_sec);
  YamlCursor certificates = reader.take("sslCertificates");
  for (const YamlCursor& item : certificates.items()) {
    if (std::optional<model::ResourceRef> ref = item.as_reference()) {
      proxy.ssl_certificates.push_back(complete_reference(*ref, proxy));
    }
  }
  const bool empty_list = certificates.node().is_sequence() && certificates.node().size() == 0;
  if ((reader.valid() && !certificates.present()) || empty_list) {
    certificates.error("at least one SSL certificate is required");
  } else if (certificates.node().is_sequence() &&
             certificates.node().size() > kMaxSslCertificates) {
    certificates.error("at most 15 SSL certificates are allowed per target HTTPS proxy (got " +
                       std::to_string(certificates.node().size()) + ")");
  }
  if (auto ref = reader.optional_reference("sslPolicy")) {
    proxy.ssl_policy = complete_reference(*ref, proxy);
  }
  // Internal Application Load Balancers do not speak QUIC: NONE and DISABLE mean the same.
  YamlCursor quic = reader.take("quicOverride");
  if (const auto mode = quic.as_string(); mode && *mode == "ENABLE") {
    quic.error(
        "quicOverride ENABLE is not supported: internal Application Load Balancers do "
        "not negotiate QUIC (HTTP/3); use NONE or DISABLE");
  } else if (mode && *mode != "NONE" && *mode != "DISABLE") {
    quic.error("'" + *mode + "' is not one of NONE, ENABLE, DISABLE");
  }
  // TLS 1.3 0-RTT with `Early-Data: 1` towards the backend (and 425 for unsafe requests under
  // STRICT) is not implemented: anything but the default is refused rather than accepted
  // and ignored. The compute v1 TargetHttpsProxy reference describes the modes; GCP's
  // internal ALB docs do not say the regional internal proxy supports them.
  YamlCursor early_data = reader.take("tlsEarlyData");
  if (const auto mode = early_data.as_string(); mode && *mode != "DISABLED") {
    early_data.error("tlsEarlyData '" + *mode +
                     "' is not supported by albemu: TLS early data (0-RTT) is not implemented; "
                     "use DISABLED");
  }
  reader.ignore({"proxyBind"});
  reader.reject("certificateMap",
                "certificateMap is only supported by global external Application Load Balancers");
  if (auto ref = parse_server_tls_policy_reference(reader.take("serverTlsPolicy"))) {
    proxy.server_tls_policy = complete_reference(*ref, proxy);
  }
  reader.reject("authorizationPolicy", "authorizationPolicy is not supported by albemu");
  reader.reject("certificateManagerCertificates",
                "Certificate Manager certificates are not supported by albemu; use "
                "sslCertificates");
  return proxy;
}

model::ForwardingRule parse_forwarding_rule(const YamlCursor& resource,
                                            const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::ForwardingRule rule;
  read_resource_header(resource, reader, defaults, rule);
  rule.ip_address = reader.string("IPAddress");
  rule.ip_protocol = reader.optional_enum("IPProtocol", {"TCP"}).value_or("TCP");
  YamlCursor port_range = reader.take("portRange");
  rule.port_range = port_range.as_string().value_or("");
  if (!port_range.present() && reader.valid()) {
    port_range.error("is required");
  } else if (port_range.present()) {
    check_port_range(port_range, rule.port_range);
  }
  YamlCursor scheme = reader.take("loadBalancingScheme");
  rule.load_balancing_scheme = scheme.as_string().value_or("INTERNAL_MANAGED");
  if (rule.load_balancing_scheme != "INTERNAL_MANAGED") {
    scheme.error("loadBalancingScheme '" + rule.load_balancing_scheme +
                 "' is not supported; albemu emulates INTERNAL_MANAGED only");
  }
  rule.target = complete_reference(reader.required_reference("target"), rule);
  if (auto ref = reader.optional_reference("network")) {
    rule.network = complete_reference(*ref, rule, /*global=*/true);
  }
  if (auto ref = reader.optional_reference("subnetwork")) {
    rule.subnetwork = complete_reference(*ref, rule);
  }
  rule.allow_global_access = reader.flag("allowGlobalAccess");
  YamlCursor tier = reader.take("networkTier");
  rule.network_tier = tier.as_string().value_or("PREMIUM");
  if (rule.network_tier == "STANDARD") {
    tier.error(
        "networkTier STANDARD is for external IP addresses; an INTERNAL_MANAGED forwarding "
        "rule is PREMIUM");
  } else if (rule.network_tier != "PREMIUM") {
    tier.error("'" + rule.network_tier + "' is not one of PREMIUM, STANDARD");
  }
  reader.ignore({"ipVersion", "serviceDirectoryRegistrations", "allowPscGlobalAccess",
                 "noAutomateDnsZone", "isMirroringCollector"});
  constexpr std::string_view kPortRangeOnly =
      "is for passthrough load balancers and protocol forwarding; an Application Load "
      "Balancer forwarding rule uses portRange";
  reader.reject("ports", std::string("ports ") + std::string(kPortRangeOnly));
  reader.reject("allPorts", std::string("allPorts ") + std::string(kPortRangeOnly));
  reader.reject("backendService",
                "backendService is for passthrough load balancers; an Application Load "
                "Balancer forwarding rule targets a target HTTP(S) proxy");
  return rule;
}

}  // namespace albemu::config
