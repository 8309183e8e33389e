#include "proxy/api/compute_references.h"

#include <algorithm>
#include <map>

namespace albemu::api {

namespace {

// Fields whose string value (or array of strings) is a reference even as a short name.
const std::map<std::string_view, std::string_view> kReferenceFields = {
    {"defaultService", "backendServices"},
    {"service", "backendServices"},
    {"backendService", "backendServices"},
    {"group", "networkEndpointGroups"},
    {"securityPolicy", "securityPolicies"},
    {"urlMap", "urlMaps"},
    {"sslCertificates", "sslCertificates"},
    {"network", "networks"},
    {"subnetwork", "subnetworks"},
    {"serverTlsPolicy", "serverTlsPolicies"},
    {"clientValidationTrustConfig", "trustConfigs"},
};

// Fields that never hold a reference to another resource.
bool skipped(std::string_view field) {
  return field == "cloudRun" || field == "selfLink" || field == "region" || field == "name" ||
         field == "kind" || field == "id" || field == "description" || field == "project" ||
         field == "labels";
}

/// The resource `text` names, if it is a reference (a short name only in reference fields).
std::optional<ResourceKey> reference_in(std::string_view text, std::string_view field,
                                        const ResourceKey& owner) {
  if (std::optional<ResourceKey> key = parse_reference_url(text)) {
    if (key->project.empty()) key->project = owner.project;
    return key;
  }
  const auto it = kReferenceFields.find(field);
  if (it == kReferenceFields.end() || text.empty() || text.find('/') != std::string_view::npos)
    return std::nullopt;
  const Collection* collection = find_collection(it->second);
  return ResourceKey{owner.project, collection->regional ? owner.region : "",
                     std::string(collection->name), std::string(text)};
}

/// Calls `visit(string_value, field)` for every string outside the skipped fields.
template <typename Value, typename Visit>
void walk(Value& value, std::string_view field, const Visit& visit) {
  if (value.is_object()) {
    for (auto& entry : value.as_object())
      if (!skipped(entry.key())) walk(entry.value(), entry.key(), visit);
  } else if (value.is_array()) {
    for (auto& item : value.as_array()) walk(item, field, visit);
  } else if (value.is_string()) {
    visit(value, field);
  }
}

template <typename Resource>
void add_all(const std::vector<Resource>& resources, std::string_view collection, bool regional,
             const std::vector<std::string>& api_files, std::vector<ResourceKey>& out) {
  for (const Resource& resource : resources) {
    if (std::find(api_files.begin(), api_files.end(), resource.origin.file) != api_files.end())
      continue;
    std::string region;
    if constexpr (requires { resource.region; }) region = regional ? resource.region : "";
    out.push_back(ResourceKey{resource.project, region, std::string(collection), resource.name});
  }
}

}  // namespace

std::vector<ResourceKey> references_of(const boost::json::value& resource,
                                       const ResourceKey& owner) {
  std::vector<ResourceKey> out;
  walk(resource, "", [&](const boost::json::value& text, std::string_view field) {
    if (auto key = reference_in(text.as_string(), field, owner)) out.push_back(std::move(*key));
  });
  return out;
}

void expand_references(boost::json::value& resource, const ResourceKey& owner) {
  walk(resource, "", [&](boost::json::value& text, std::string_view field) {
    if (auto key = reference_in(text.as_string(), field, owner)) text = full_url(*key);
  });
}

std::vector<ResourceKey> file_defined(const model::Config& config,
                                      const std::vector<std::string>& api_file) {
  std::vector<ResourceKey> out;
  add_all(config.networks, "networks", false, api_file, out);
  add_all(config.subnetworks, "subnetworks", true, api_file, out);
  add_all(config.cloud_run_services, "cloudRunServices", true, api_file, out);
  add_all(config.network_endpoint_groups, "networkEndpointGroups", true, api_file, out);
  add_all(config.backend_services, "backendServices", true, api_file, out);
  add_all(config.security_policies, "securityPolicies", true, api_file, out);
  add_all(config.url_maps, "urlMaps", true, api_file, out);
  add_all(config.ssl_certificates, "sslCertificates", true, api_file, out);
  add_all(config.trust_configs, "trustConfigs", true, api_file, out);
  add_all(config.server_tls_policies, "serverTlsPolicies", true, api_file, out);
  add_all(config.target_http_proxies, "targetHttpProxies", true, api_file, out);
  add_all(config.target_https_proxies, "targetHttpsProxies", true, api_file, out);
  add_all(config.forwarding_rules, "forwardingRules", true, api_file, out);
  return out;
}

}  // namespace albemu::api
