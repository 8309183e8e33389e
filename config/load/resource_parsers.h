#pragma once
// One parser per resource kind: YAML (through a YamlCursor whose path is already the
// resource's, e.g. `urlMaps[lb-map]`) -> model struct, with field-level validation. Errors go
// to the cursor's context; the returned struct holds whatever could be read.

#include <string>
#include <string_view>

#include "config/load/yaml_cursor.h"
#include "config/model/resources.h"

namespace albemu::config {

/// Project and region a resource gets when it does not name its own; references with no
/// project/region are completed with the referring resource's.
struct ResourceDefaults {
  std::string project;
  std::string region;
};

model::Network parse_network(const YamlCursor& resource, const ResourceDefaults& defaults);
model::Subnetwork parse_subnetwork(const YamlCursor& resource, const ResourceDefaults& defaults);
model::CloudRunService parse_cloud_run_service(const YamlCursor& resource,
                                               const ResourceDefaults& defaults);
model::NetworkEndpointGroup parse_network_endpoint_group(const YamlCursor& resource,
                                                         const ResourceDefaults& defaults);
model::BackendService parse_backend_service(const YamlCursor& resource,
                                            const ResourceDefaults& defaults);
model::SecurityPolicy parse_security_policy(const YamlCursor& resource,
                                            const ResourceDefaults& defaults);
model::UrlMap parse_url_map(const YamlCursor& resource, const ResourceDefaults& defaults);
model::SslCertificate parse_ssl_certificate(const YamlCursor& resource,
                                            const ResourceDefaults& defaults);
model::SslPolicy parse_ssl_policy(const YamlCursor& resource, const ResourceDefaults& defaults);
model::TargetHttpProxy parse_target_http_proxy(const YamlCursor& resource,
                                               const ResourceDefaults& defaults);
model::TargetHttpsProxy parse_target_https_proxy(const YamlCursor& resource,
                                                 const ResourceDefaults& defaults);
model::ForwardingRule parse_forwarding_rule(const YamlCursor& resource,
                                            const ResourceDefaults& defaults);
model::ServerTlsPolicy parse_server_tls_policy(const YamlCursor& resource,
                                               const ResourceDefaults& defaults);
model::TrustConfig parse_trust_config(const YamlCursor& resource, const ResourceDefaults& defaults);
/// A target HTTPS proxy's `serverTlsPolicy`: `//networksecurity.googleapis.com/projects/P/
/// locations/L/serverTlsPolicies/N`, `projects/P/locations/L/serverTlsPolicies/N` or `N`.
std::optional<model::ResourceRef> parse_server_tls_policy_reference(const YamlCursor& field);

// ---------------------------------------------------------------- shared by the parsers

/// Reads the fields every resource has into `into`: name (checked), description, project,
/// region (a URL is reduced to its last segment; none for a global resource), the file it came
/// from, and the output-only fields exports carry (ignored).
void read_resource_header(const YamlCursor& resource, FieldReader& reader,
                          const ResourceDefaults& defaults, model::Resource& into,
                          bool regional = true);

/// Fills an omitted project/region of `ref` from the referring resource (region only for
/// regional collections).
model::ResourceRef complete_reference(model::ResourceRef ref, const model::Resource& owner,
                                      bool global = false);

/// One PEM value given inline (`inline_key`) or as a file (`file_key`, relative to the config
/// file; its resolved path goes to `file_out`); exactly one is required.
std::string read_pem(FieldReader& reader, std::string_view inline_key, std::string_view file_key,
                     std::string* file_out);

/// Reads the file `name` (a relative path against the config file's directory) into the result
/// and its resolved path into `resolved`. Returns nullopt after recording an error at `field`
/// naming the file when it cannot be read.
std::optional<std::string> read_config_relative_file(const YamlCursor& field,
                                                     const std::string& name,
                                                     std::string* resolved);

/// Records an error when `value` is outside [min, max] characters.
void check_length(const YamlCursor& field, const std::string& value, size_t min, size_t max);

/// Reads `key` as an optional string and checks its length.
std::optional<std::string> optional_bounded_string(FieldReader& reader, std::string_view key,
                                                   size_t min, size_t max);

}  // namespace albemu::config
