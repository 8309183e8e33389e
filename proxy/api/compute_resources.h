#pragma once
// What the compute v1 REST API knows about each resource collection albemu serves, how its
// paths read, and the output-only decorations (selfLink, id, fingerprint, timestamps). The
// two location-based collections behind mutual TLS (certificatemanager trustConfigs,
// networksecurity serverTlsPolicies) are listed here too: they share the stored document and
// the reference checks, and their keys carry the location in `region`.

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::api {

/// The Google API a collection belongs to.
enum class ServiceApi { kCompute, kCertificateManager, kNetworkSecurity };

/// One collection served by the API (compute v1 unless `api` says otherwise).
struct Collection {
  std::string_view name;       // path segment and albemu config key, e.g. "backendServices"
  std::string_view kind;       // "compute#backendService"
  std::string_view type_name;  // GCP's name in messages, e.g. "backend_service"
  bool regional = true;        // false: under global/
  bool has_fingerprint = false;
  bool has_update = false;  // PUT (full replace) exists in compute v1
  bool has_patch = false;   // PATCH exists (albemu also accepts it where compute lacks it)
  ServiceApi api = ServiceApi::kCompute;
};

/// The collection named `name`, or null.
const Collection* find_collection(std::string_view name);

/// Every collection, in the order the stored document lists them (referenced kinds first).
const std::vector<Collection>& collections();

/// A parsed request path below /compute/v1 (the prefix is optional).
struct ComputePath {
  std::string project;
  std::string region;       // empty for global/
  std::string collection;   // "backendServices", "operations", ...
  std::string name;         // empty for the collection itself
  std::string verb;         // custom method ("setUrlMap", "validate", "wait"), empty if none
  bool aggregated = false;  // projects/P/aggregated/C: every region's resources
};

/// Parses `/compute/v1/projects/P/(regions/R|global)/C[/N[/verb]]` or
/// `/compute/v1/projects/P/aggregated/C`; nullopt if it is not one.
std::optional<ComputePath> parse_compute_path(std::string_view path);

/// The non-empty segments of a URL path or resource name (`/a//b/` -> a, b).
std::vector<std::string_view> path_segments(std::string_view text);

/// Where a resource lives: enough to print its partial and full URLs.
struct ResourceKey {
  std::string project;
  std::string region;  // empty for global resources
  std::string collection;
  std::string name;

  bool operator==(const ResourceKey&) const = default;
};

/// `projects/P/regions/R/C/N` (or `projects/P/global/C/N`), as GCP's messages name resources;
/// `projects/P/locations/L/C/N` for a location-based collection.
std::string partial_url(const ResourceKey& key);
/// `https://www.googleapis.com/compute/v1/` + partial_url(key); for a location-based
/// collection its full resource name (`//networksecurity.googleapis.com/projects/...`), which
/// is how a target HTTPS proxy's serverTlsPolicy names its policy.
std::string full_url(const ResourceKey& key);
std::string region_url(const std::string& project, const std::string& region);
/// The full URL of a collection (list selfLink).
std::string collection_url(const std::string& project, const std::string& region,
                           const std::string& collection);

/// Reads a reference in any of compute's forms (full URL on any host, `projects/...`,
/// `regions/...`, `global/...`), or a location-based resource's name
/// (`[//SERVICE.googleapis.com/]projects/P/locations/L/C/N`); nullopt for a short name or
/// anything else.
std::optional<ResourceKey> parse_reference_url(std::string_view text);

/// Rewrites every string in `value` that is a compute URL on another host
/// (http://127.0.0.1:8085/compute/v1/projects/...) to the canonical googleapis.com form,
/// so clients that build links from their endpoint override still reference resources.
void canonicalise_urls(boost::json::value& value);

/// The string `field` of `object`; empty if it is absent or not a string.
std::string string_field(const boost::json::object& object, std::string_view field);

/// A fresh decimal resource id (unsigned 64-bit, as compute prints it).
std::string new_id();
/// Now in RFC 3339 with milliseconds, as compute writes creationTimestamp.
std::string rfc3339_now();
/// A fresh operation name, `operation-<epoch ms>-<hex>`, as compute and the location-based
/// APIs name theirs.
std::string new_operation_name();
/// base64 of the first 8 bytes of SHA-256 over the resource without output-only fields.
std::string fingerprint_of(const boost::json::object& resource);

/// What compute reports of a PEM certificate: expireTime (RFC 3339) and
/// subjectAlternativeNames (DNS names). Empty if the PEM does not parse.
boost::json::object certificate_facts(std::string_view pem);

/// Removes the fields a client may send but the server owns (id, selfLink, kind, ...).
void strip_output_only(boost::json::object& resource);

}  // namespace albemu::api
