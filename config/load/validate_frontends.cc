// Target proxies, forwarding rules, networks and subnetworks: what the proxies reference,
// the proxy-only subnet every INTERNAL_MANAGED forwarding rule needs, and address overlaps.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/ip_address.h"
#include "config/load/validate_context.h"

namespace albemu::config::validation {

namespace {

constexpr std::string_view kProxyOnlyPurpose = "REGIONAL_MANAGED_PROXY";

bool is_proxy_only(const model::Subnetwork& subnetwork) {
  return subnetwork.purpose == kProxyOnlyPurpose;
}

/// GCP's API treats a proxy-only subnet created without a role as ACTIVE.
bool is_active_proxy_only(const model::Subnetwork& subnetwork) {
  return is_proxy_only(subnetwork) && (subnetwork.role.empty() || subnetwork.role == "ACTIVE");
}

/// Identifies a (global) network by project and name.
std::string network_key(std::string_view project, std::string_view name) {
  return std::string(project) + "/" + std::string(name);
}

std::string subnetwork_network_key(const Validator& validator,
                                   const model::Subnetwork& subnetwork) {
  const Location location = validator.subnetworks.location_of(subnetwork);
  return network_key(
      subnetwork.network.project.empty() ? location.project : subnetwork.network.project,
      subnetwork.network.name);
}

void check_http_proxy(Validator& validator, const model::TargetHttpProxy& proxy) {
  const Referrer from = validator.target_http_proxies.referrer(proxy);
  validator.resolve(from, ".urlMap", proxy.url_map, validator.url_maps);
}

void check_https_proxy(Validator& validator, const model::TargetHttpsProxy& proxy) {
  const Referrer from = validator.target_https_proxies.referrer(proxy);
  validator.resolve(from, ".urlMap", proxy.url_map, validator.url_maps);
  for (std::size_t i = 0; i < proxy.ssl_certificates.size(); ++i) {
    validator.resolve(from, ".sslCertificates[" + std::to_string(i) + "]",
                      proxy.ssl_certificates[i], validator.ssl_certificates);
  }
  if (proxy.ssl_policy) {
    validator.resolve(from, ".sslPolicy", *proxy.ssl_policy, validator.ssl_policies);
  }
  if (proxy.server_tls_policy) {
    validator.resolve(from, ".serverTlsPolicy", *proxy.server_tls_policy,
                      validator.server_tls_policies);
  }
}

void check_server_tls_policy(Validator& validator, const model::ServerTlsPolicy& policy) {
  if (!policy.client_validation_trust_config) return;
  const Referrer from = validator.server_tls_policies.referrer(policy);
  validator.resolve(from, ".mtlsPolicy.clientValidationTrustConfig",
                    *policy.client_validation_trust_config, validator.trust_configs);
}

/// A forwarding rule's target is a target HTTP or HTTPS proxy: the reference's collection
/// says which, and a short name must match exactly one of the two.
void check_target(Validator& validator, const Referrer& from, const model::ResourceRef& target) {
  const auto& http = validator.target_http_proxies;
  const auto& https = validator.target_https_proxies;
  if (target.collection == http.name()) {
    validator.resolve(from, ".target", target, http);
    return;
  }
  if (target.collection == https.name()) {
    validator.resolve(from, ".target", target, https);
    return;
  }
  if (target.empty()) return;  // left out or malformed: the loader reports it
  if (!target.collection.empty()) {
    validator.error(from, ".target",
                    "wrong resource type: \"" + target.text + "\" refers to " + target.collection +
                        ", but a forwarding rule's target is a target HTTP proxy "
                        "(targetHttpProxies) or a target HTTPS proxy (targetHttpsProxies)");
    return;
  }
  const model::TargetHttpProxy* http_proxy = validator.lookup(from, target, http);
  const model::TargetHttpsProxy* https_proxy = validator.lookup(from, target, https);
  if (http_proxy != nullptr && https_proxy != nullptr) {
    validator.error(from, ".target",
                    "ambiguous reference: both " + http.path_of(*http_proxy) + " and " +
                        https.path_of(*https_proxy) + " match \"" + target.text +
                        "\"; write targetHttpProxies/" + target.name + " or targetHttpsProxies/" +
                        target.name);
  } else if (http_proxy != nullptr) {
    validator.report_cross_region(from, ".target", http.kind(), target.name,
                                  http.location_of(*http_proxy).region);
  } else if (https_proxy != nullptr) {
    validator.report_cross_region(from, ".target", https.kind(), target.name,
                                  https.location_of(*https_proxy).region);
  } else {
    std::vector<Location> elsewhere = Validator::elsewhere(http, target.name);
    for (const Location& location : Validator::elsewhere(https, target.name)) {
      elsewhere.push_back(location);
    }
    validator.error(
        from, ".target",
        Validator::unresolved_message("target HTTP or HTTPS proxy", target.name,
                                      validator.target_location(from, target, http), elsewhere));
  }
}

/// The network the rule's clients are on: its `network`, else its subnetwork's, else the
/// first declared network (or the first subnetwork's network). Empty if there is none.
std::string rule_network_key(const Validator& validator, const Referrer& from,
                             const model::ForwardingRule& rule,
                             const model::Subnetwork* subnetwork) {
  if (rule.network && !rule.network->empty()) {
    return network_key(
        rule.network->project.empty() ? from.location.project : rule.network->project,
        rule.network->name);
  }
  if (subnetwork != nullptr) return subnetwork_network_key(validator, *subnetwork);
  if (!validator.networks.items().empty()) {
    const model::Network& first = validator.networks.items().front();
    return network_key(validator.networks.location_of(first).project, first.name);
  }
  if (!validator.subnetworks.items().empty()) {
    return subnetwork_network_key(validator, validator.subnetworks.items().front());
  }
  return {};
}

/// GCP needs an ACTIVE proxy-only subnet in the rule's region and network: Envoy's addresses
/// come from it.
void check_proxy_only_subnet(Validator& validator, const Referrer& from,
                             const model::ForwardingRule& rule,
                             const model::Subnetwork* subnetwork) {
  const std::string network = rule_network_key(validator, from, rule, subnetwork);
  if (network.empty()) return;
  bool backup_only = false;
  for (const model::Subnetwork& candidate : validator.subnetworks.items()) {
    if (!is_proxy_only(candidate)) continue;
    if (validator.subnetworks.location_of(candidate).region != from.location.region) continue;
    if (subnetwork_network_key(validator, candidate) != network) continue;
    if (is_active_proxy_only(candidate)) return;
    backup_only = true;
  }
  const std::string network_name = network.substr(network.find('/') + 1);
  validator.error(
      from, rule.network ? ".network" : "",
      "missing proxy-only subnet: an INTERNAL_MANAGED forwarding rule needs an ACTIVE subnetwork "
      "with purpose REGIONAL_MANAGED_PROXY in region \"" +
          from.location.region + "\" of network \"" + network_name + "\"" +
          (backup_only ? " (only a BACKUP one is declared)" : ""));
}

void check_forwarding_rule(Validator& validator, const model::ForwardingRule& rule,
                           bool networks_declared) {
  const Referrer from = validator.forwarding_rules.referrer(rule);
  check_target(validator, from, rule.target);
  const model::Network* network = nullptr;
  if (rule.network)
    network = validator.resolve(from, ".network", *rule.network, validator.networks);
  const model::Subnetwork* subnetwork = nullptr;
  if (rule.subnetwork) {
    subnetwork = validator.resolve(from, ".subnetwork", *rule.subnetwork, validator.subnetworks);
  }
  if (subnetwork != nullptr && is_proxy_only(*subnetwork)) {
    validator.error(from, ".subnetwork",
                    "proxy-only subnet used for clients: subnetwork \"" + subnetwork->name +
                        "\" has purpose REGIONAL_MANAGED_PROXY; a forwarding rule's subnetwork "
                        "must be a regular subnet, not the proxy-only subnet");
  }
  if (network != nullptr && subnetwork != nullptr) {
    const std::string expected =
        network_key(validator.networks.location_of(*network).project, network->name);
    if (subnetwork_network_key(validator, *subnetwork) != expected) {
      validator.error(from, ".subnetwork",
                      "network mismatch: subnetwork \"" + subnetwork->name +
                          "\" belongs to network \"" + subnetwork->network.name +
                          "\", not to the rule's network \"" + network->name + "\"");
    }
  }
  // GCP always requires the proxy-only subnet. albemu asks for it only when the config
  // describes its networking at all, so a minimal config (like the embedded demo) that
  // declares no networks or subnetworks still loads. An unresolved network is already
  // reported; looking for its subnets would only repeat that.
  const bool network_unresolved = rule.network && network == nullptr;
  if (networks_declared && !network_unresolved) {
    check_proxy_only_subnet(validator, from, rule, subnetwork);
  }
}

void check_subnetworks(Validator& validator) {
  std::map<std::string, const model::Subnetwork*> active_proxy_only;
  for (const model::Subnetwork& subnetwork : validator.subnetworks.items()) {
    const Referrer from = validator.subnetworks.referrer(subnetwork);
    validator.resolve(from, ".network", subnetwork.network, validator.networks);
    if (!is_active_proxy_only(subnetwork)) continue;
    const std::string key =
        from.location.region + "\n" + subnetwork_network_key(validator, subnetwork);
    auto [it, inserted] = active_proxy_only.try_emplace(key, &subnetwork);
    if (!inserted) {
      validator.error(
          from, ".role",
          "second ACTIVE proxy-only subnet: " + validator.subnetworks.path_of(*it->second) +
              " is already the ACTIVE REGIONAL_MANAGED_PROXY subnet of network \"" +
              subnetwork.network.name + "\" in region \"" + from.location.region +
              "\"; only one may be ACTIVE (make this one BACKUP)");
    }
  }
}

struct PortRange {
  long first = 0;
  long last = 0;
};

/// "80" or "80-90"; nullopt for anything else (the loader reports malformed ranges).
std::optional<PortRange> parse_port_range(const std::string& text) {
  const auto is_number = [](std::string_view s) {
    return !s.empty() && s.size() <= 5 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  };
  const std::size_t dash = text.find('-');
  const std::string first = text.substr(0, dash);
  const std::string last = dash == std::string::npos ? first : text.substr(dash + 1);
  if (!is_number(first) || !is_number(last)) return std::nullopt;
  return PortRange{std::stol(first), std::stol(last)};
}

/// The address in canonical form, so "::1" and "0:0::1" compare equal; a name as it is,
/// lower-cased.
std::string canonical_address(const std::string& address) {
  if (const auto parsed = parse_ip_address(address)) return parsed->to_string();
  std::string lowered = address;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

/// GCP forbids two forwarding rules on one IPAddress and protocol with overlapping ports.
void check_address_overlaps(Validator& validator) {
  const auto& rules = validator.forwarding_rules.items();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::optional<PortRange> ports = parse_port_range(rules[i].port_range);
    if (rules[i].ip_address.empty() || !ports) continue;  // an ephemeral address never clashes
    const std::string address = canonical_address(rules[i].ip_address);
    for (std::size_t j = 0; j < i; ++j) {
      const std::optional<PortRange> other = parse_port_range(rules[j].port_range);
      if (!other || rules[j].ip_address.empty() || rules[j].ip_protocol != rules[i].ip_protocol ||
          canonical_address(rules[j].ip_address) != address) {
        continue;
      }
      if (ports->first > other->last || other->first > ports->last) continue;
      validator.error(validator.forwarding_rules.referrer(rules[i]), ".portRange",
                      "address conflict: " + validator.forwarding_rules.path_of(rules[j]) +
                          " already listens on " + rules[i].ip_address + " port " +
                          rules[j].port_range +
                          "; two forwarding rules may not share an IPAddress with overlapping "
                          "ports");
      break;
    }
  }
}

}  // namespace

void check_frontends(Validator& validator) {
  for (const model::TargetHttpProxy& proxy : validator.target_http_proxies.items()) {
    check_http_proxy(validator, proxy);
  }
  for (const model::TargetHttpsProxy& proxy : validator.target_https_proxies.items()) {
    check_https_proxy(validator, proxy);
  }
  for (const model::ServerTlsPolicy& policy : validator.server_tls_policies.items()) {
    check_server_tls_policy(validator, policy);
  }
  check_subnetworks(validator);
  const bool networks_declared =
      !validator.networks.items().empty() || !validator.subnetworks.items().empty();
  for (const model::ForwardingRule& rule : validator.forwarding_rules.items()) {
    check_forwarding_rule(validator, rule, networks_declared);
  }
  check_address_overlaps(validator);
}

}  // namespace albemu::config::validation
