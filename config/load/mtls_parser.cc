// serverTlsPolicies (networksecurity v1) and trustConfigs (certificatemanager v1): the
// resources behind a target HTTPS proxy's mutual TLS, in the shapes `gcloud network-security
// server-tls-policies export` and `gcloud certificate-manager trust-configs export` write.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"

namespace albemu::config {

namespace {

/// The fields these APIs return that albemu neither needs nor changes.
const std::vector<std::string_view> kLocationOutputOnly = {
    "createTime", "updateTime", "etag", "labels", "uid", "pemCertificateId"};

bool is_project_number(std::string_view project) {
  return !project.empty() && std::all_of(project.begin(), project.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

/// A full resource name (`projects/P/locations/L/<collection>/N`, optionally after
/// `//<service>.googleapis.com/`) as a reference; a project number is left out (it names the
/// config's own project, whose number albemu does not know). Empty ref when malformed.
model::ResourceRef parse_location_name(std::string_view text, std::string_view collection) {
  model::ResourceRef ref;
  std::string_view rest = text;
  if (rest.starts_with("//")) {
    const size_t slash = rest.find('/', 2);
    if (slash == std::string_view::npos || !rest.substr(2, slash - 2).ends_with(".googleapis.com"))
      return ref;
    rest.remove_prefix(slash + 1);
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= rest.size();) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    parts.push_back(rest.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() != 6 || parts[0] != "projects" || parts[2] != "locations" ||
      parts[4] != collection || parts[1].empty() || parts[3].empty() ||
      !is_valid_resource_name(parts[5])) {
    return ref;
  }
  ref.text = std::string(text);
  if (!is_project_number(parts[1])) ref.project = std::string(parts[1]);
  ref.region = std::string(parts[3]);
  ref.collection = std::string(collection);
  ref.name = std::string(parts[5]);
  return ref;
}

/// A reference to a resource of `collection`: its full name or a short name.
std::optional<model::ResourceRef> location_reference(const YamlCursor& field,
                                                     std::string_view collection) {
  std::optional<std::string> text = field.as_string();
  if (!text) return std::nullopt;
  if (text->find('/') == std::string::npos && is_valid_resource_name(*text)) {
    return model::ResourceRef{*text, "", "", "", *text};
  }
  model::ResourceRef ref = parse_location_name(*text, collection);
  if (ref.empty()) {
    field.error("'" + *text + "' is not a " + std::string(collection) +
                " reference (a name, or projects/P/locations/L/" + std::string(collection) +
                "/NAME)");
    return std::nullopt;
  }
  return ref;
}

/// The resource with a short `name`: a full name (as exports write it) is replaced by its last
/// segment, and its project and location become the resource's defaults.
YamlCursor with_short_name(const YamlCursor& resource, std::string_view collection,
                           ResourceDefaults& defaults) {
  const YamlCursor name = resource.field("name");
  const std::optional<std::string> text = name.node().is_scalar() ? name.as_string() : std::nullopt;
  if (!text || text->find('/') == std::string::npos) return resource;
  const model::ResourceRef ref = parse_location_name(*text, collection);
  if (ref.empty()) return resource;  // the name check reports it
  if (!ref.project.empty()) defaults.project = ref.project;
  defaults.region = ref.region;
  return resource.with_scalar_field("name", ref.name);
}

std::vector<model::PemCertificate> read_certificates(FieldReader& parent, std::string_view key) {
  std::vector<model::PemCertificate> out;
  for (const YamlCursor& item : parent.items(key)) {
    FieldReader reader(item);
    model::PemCertificate certificate;
    certificate.pem = read_pem(reader, "pemCertificate", "pemCertificateFile", &certificate.file);
    out.push_back(std::move(certificate));
  }
  return out;
}

}  // namespace

model::TrustConfig parse_trust_config(const YamlCursor& resource,
                                      const ResourceDefaults& defaults) {
  ResourceDefaults own = defaults;
  const YamlCursor cursor = with_short_name(resource, "trustConfigs", own);
  FieldReader reader(cursor);
  model::TrustConfig config;
  read_resource_header(cursor, reader, own, config);
  reader.ignore(kLocationOutputOnly);
  YamlCursor stores = reader.take("trustStores");
  for (const YamlCursor& item : stores.items()) {
    FieldReader store_reader(item);
    model::TrustStore store;
    store.trust_anchors = read_certificates(store_reader, "trustAnchors");
    store.intermediate_cas = read_certificates(store_reader, "intermediateCas");
    if (store_reader.valid() && store.trust_anchors.empty()) {
      item.field("trustAnchors").error("a trust store needs at least one trust anchor");
    }
    config.trust_stores.push_back(std::move(store));
  }
  if (config.trust_stores.size() > 1) {
    stores.error("a trust config holds a single trust store (got " +
                 std::to_string(config.trust_stores.size()) + ")");
  }
  config.allowlisted_certificates = read_certificates(reader, "allowlistedCertificates");
  if (reader.valid() && config.trust_stores.empty() && config.allowlisted_certificates.empty()) {
    reader.cursor().error("a trust config needs trustStores or allowlistedCertificates");
  }
  reader.reject("spiffeTrustStores",
                "spiffeTrustStores are for Cloud Service Mesh workloads, not load balancers");
  return config;
}

model::ServerTlsPolicy parse_server_tls_policy(const YamlCursor& resource,
                                               const ResourceDefaults& defaults) {
  ResourceDefaults own = defaults;
  const YamlCursor cursor = with_short_name(resource, "serverTlsPolicies", own);
  FieldReader reader(cursor);
  model::ServerTlsPolicy policy;
  read_resource_header(cursor, reader, own, policy);
  reader.ignore(kLocationOutputOnly);
  YamlCursor mtls = reader.take("mtlsPolicy");
  if (!mtls.present()) {
    if (reader.valid()) {
      mtls.error(
          "is required: a load balancer's server TLS policy sets mtlsPolicy "
          "(clientValidationMode and clientValidationTrustConfig)");
    }
  } else {
    FieldReader mtls_reader(mtls);
    YamlCursor mode = mtls_reader.take("clientValidationMode");
    policy.client_validation_mode = mode.as_string().value_or("");
    if (policy.client_validation_mode != "ALLOW_INVALID_OR_MISSING_CLIENT_CERT" &&
        policy.client_validation_mode != "REJECT_INVALID") {
      mode.error(policy.client_validation_mode.empty()
                     ? "is required: ALLOW_INVALID_OR_MISSING_CLIENT_CERT or REJECT_INVALID"
                     : "'" + policy.client_validation_mode +
                           "' is not one of ALLOW_INVALID_OR_MISSING_CLIENT_CERT, REJECT_INVALID");
    }
    YamlCursor trust = mtls_reader.take("clientValidationTrustConfig");
    if (trust.present()) {
      if (auto ref = location_reference(trust, "trustConfigs")) {
        if (ref->project.empty()) ref->project = policy.project;
        if (ref->region.empty()) ref->region = policy.region;
        policy.client_validation_trust_config = std::move(*ref);
      }
    } else if (policy.client_validation_mode == "REJECT_INVALID") {
      trust.error("is required with clientValidationMode REJECT_INVALID");
    }
    mtls_reader.reject("clientValidationCa",
                       "clientValidationCa is for Cloud Service Mesh; a load balancer validates "
                       "client certificates with clientValidationTrustConfig");
  }
  reader.reject("serverCertificate",
                "serverCertificate is for Cloud Service Mesh; a load balancer serves the target "
                "HTTPS proxy's sslCertificates");
  if (std::optional<bool> open = reader.optional_bool("allowOpen"); open && *open) {
    reader.cursor()
        .field("allowOpen")
        .error("allowOpen is for Cloud Service Mesh; it must be false");
  }
  return policy;
}

std::optional<model::ResourceRef> parse_server_tls_policy_reference(const YamlCursor& field) {
  return location_reference(field, "serverTlsPolicies");
}

}  // namespace albemu::config
