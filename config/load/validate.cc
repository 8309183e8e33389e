// validate_config(): the cross-resource rules of a loaded config. The individual rule groups
// live in validate_url_maps.cc, validate_backends.cc and validate_frontends.cc.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/load/loader.h"
#include "config/load/validate_context.h"

namespace albemu::config {

namespace validation {

std::string describe(const Location& location) {
  std::string out = "project \"" + location.project + "\"";
  if (!location.region.empty()) out += ", region \"" + location.region + "\"";
  return out;
}

std::string entry_path(std::string_view collection, std::string_view name, std::size_t index) {
  std::string out(collection);
  out += '[';
  out += name.empty() ? std::to_string(index) : std::string(name);
  out += ']';
  return out;
}

namespace {

Location defaults_of(const model::Config& config) {
  return Location{config.project, config.region};
}

}  // namespace

Validator::Validator(const model::Config& config)
    : networks("networks", "network", config.networks, defaults_of(config)),
      subnetworks("subnetworks", "subnetwork", config.subnetworks, defaults_of(config)),
      cloud_run_services("cloudRunServices", "Cloud Run service", config.cloud_run_services,
                         defaults_of(config)),
      network_endpoint_groups("networkEndpointGroups", "network endpoint group",
                              config.network_endpoint_groups, defaults_of(config)),
      backend_services("backendServices", "backend service", config.backend_services,
                       defaults_of(config)),
      security_policies("securityPolicies", "security policy", config.security_policies,
                        defaults_of(config)),
      url_maps("urlMaps", "URL map", config.url_maps, defaults_of(config)),
      ssl_certificates("sslCertificates", "SSL certificate", config.ssl_certificates,
                       defaults_of(config)),
      ssl_policies("sslPolicies", "SSL policy", config.ssl_policies, defaults_of(config)),
      trust_configs("trustConfigs", "trust config", config.trust_configs, defaults_of(config)),
      server_tls_policies("serverTlsPolicies", "server TLS policy", config.server_tls_policies,
                          defaults_of(config)),
      target_http_proxies("targetHttpProxies", "target HTTP proxy", config.target_http_proxies,
                          defaults_of(config)),
      target_https_proxies("targetHttpsProxies", "target HTTPS proxy", config.target_https_proxies,
                           defaults_of(config)),
      forwarding_rules("forwardingRules", "forwarding rule", config.forwarding_rules,
                       defaults_of(config)),
      config_(config) {}

void Validator::error(const Referrer& from, std::string_view field, std::string message) {
  errors_.push_back(ConfigError{from.origin == nullptr ? std::string() : from.origin->file,
                                from.path + std::string(field), std::move(message)});
}

void Validator::report_cross_region(const Referrer& from, std::string_view field,
                                    std::string_view kind, std::string_view name,
                                    const std::string& target_region) {
  if (target_region == from.location.region) return;
  error(from, field,
        "cross-region reference: " + std::string(kind) + " \"" + std::string(name) +
            "\" is in region \"" + target_region + "\" but " + from.path + " is in region \"" +
            from.location.region +
            "\"; every resource of a regional internal Application Load Balancer must be in "
            "one region");
}

std::string Validator::unresolved_message(std::string_view kind, std::string_view name,
                                          const Location& location,
                                          const std::vector<Location>& elsewhere) {
  std::string out = "unresolved reference: no " + std::string(kind) + " \"" + std::string(name) +
                    "\" is declared in " + describe(location);
  if (!elsewhere.empty()) {
    out += " (one with that name is declared in ";
    for (std::size_t i = 0; i < elsewhere.size(); ++i) {
      if (i > 0) out += "; ";
      out += describe(elsewhere[i]);
    }
    out += ")";
  }
  return out;
}

namespace {

template <class T>
void check_unique_names(Validator& validator, const Collection<T>& in) {
  std::map<std::string, const T*> first_by_key;
  for (const T& item : in.items()) {
    if (item.name.empty()) continue;  // a missing name is a field-level load error
    const Location location = in.location_of(item);
    auto [it, inserted] = first_by_key.try_emplace(in.key(location, item.name), &item);
    if (inserted) continue;
    const T& first = *it->second;
    validator.error(
        in.referrer(item), ".name",
        "duplicate name: another " + in.kind() + " \"" + item.name + "\" is already declared in " +
            describe(location) + " (in " +
            (first.origin.file.empty() ? std::string("the same config") : first.origin.file) +
            "); names are unique within a collection");
  }
}

}  // namespace

void check_duplicate_names(Validator& validator) {
  check_unique_names(validator, validator.networks);
  check_unique_names(validator, validator.subnetworks);
  check_unique_names(validator, validator.cloud_run_services);
  check_unique_names(validator, validator.network_endpoint_groups);
  check_unique_names(validator, validator.backend_services);
  check_unique_names(validator, validator.security_policies);
  check_unique_names(validator, validator.url_maps);
  check_unique_names(validator, validator.ssl_certificates);
  check_unique_names(validator, validator.ssl_policies);
  check_unique_names(validator, validator.trust_configs);
  check_unique_names(validator, validator.server_tls_policies);
  check_unique_names(validator, validator.target_http_proxies);
  check_unique_names(validator, validator.target_https_proxies);
  check_unique_names(validator, validator.forwarding_rules);
}

}  // namespace validation

ConfigErrors validate_config(const model::Config& config) {
  validation::Validator validator(config);
  validation::check_duplicate_names(validator);
  validation::check_backends(validator);
  validation::check_url_maps(validator);
  validation::check_frontends(validator);
  return validator.take_errors();
}

}  // namespace albemu::config
