#pragma once
// albemu's Compute Engine v1 REST surface for the regional internal Application Load
// Balancer: insert/get/list/delete (+ patch/update and the set* methods where compute has
// them) on networks, subnetworks, serverless NEGs, backend services, security policies, URL
// maps, SSL certificates, target HTTP(S) proxies and forwarding rules, urlMaps.validate, and
// operations get/wait. Transport-free: ApiServer feeds it requests.
//
// A write builds the next stored document (all API resources as one albemu collection
// document), loads it together with the -c files exactly as a reload would, answers 400 with
// the loader's message if that fails and changes nothing; otherwise it writes the state file
// atomically and asks serve to reload, and answers the (already DONE) Operation only once
// the new generation serves.
//
// Cloud Run services have no compute resource. Two ways give a NEG's service a stand-in:
//   - `POST /albemu/v1/projects/P/locations/R/services` {name, url|urls, tags, ingress}
//     creates or replaces a `cloudRunServices` entry (GET lists/gets, DELETE removes);
//   - a service that an API-created NEG names and that nothing declares gets an entry
//     without url (labelled albemu-implicit, derived again on every write), so the built-in
//     stand-in answers as a freshly deployed hello container would.
//
// The resources behind a target HTTPS proxy's mutual TLS are served in the shapes of their own
// APIs (location_api.cc): `/certificatemanager/v1/projects/P/locations/L/trustConfigs` and
// `/networksecurity/v1/projects/P/locations/L/serverTlsPolicies` (create with ?<kind>Id=N,
// get, list, patch with ?updateMask, delete), answering google.longrunning Operations that
// are already done. They are stored and checked with the compute resources.
//
// get/list (and aggregated lists) cover API-created resources; names defined by -c files are
// taken (alreadyExists) and may be referenced, but are not listed. References come back as
// full URLs, as compute returns them; empty lists and maps are dropped (proto3 JSON reads
// them as absent); a certificate's privateKey is stored but never returned.

#include <boost/json.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/api/api_state.h"
#include "proxy/core/snapshot.h"

namespace albemu::api {

struct ApiResponse {
  unsigned status = 200;
  boost::json::value body;
};

/// What the API needs of serve. Called on serve's main thread.
struct ApiHooks {
  /// The snapshot being served.
  std::function<std::shared_ptr<const core::ConfigSnapshot>()> snapshot;
  /// Reloads from the config sources (the state file among them); the error text, or empty.
  std::function<std::string()> reload;
};

struct ApiOptions {
  /// The config sources besides the state file (the -c paths, or a copy of the demo).
  std::vector<std::string> config_paths;
  /// The stored document, one more config source of serve.
  std::string state_file;
  /// A private folder for candidate documents.
  std::string scratch_dir;
  /// The copy of the embedded demo config (one of config_paths) when serve runs without -c;
  /// empty otherwise. The demo serves until the API holds its first resource, so that the
  /// tutorial's networks never meet the demo's network-less rules.
  std::string demo_file;
};

/// What a state becomes on disk: the config document serve loads.
struct StoredDocuments {
  std::string config;
  std::string demo;  // the demo file's text (only with ApiOptions::demo_file)
};

/// A request path of a location-based API: `/certificatemanager/v1/projects/P/locations/L/
/// trustConfigs[/N]`, `/networksecurity/v1/.../serverTlsPolicies[/N]`, or either's
/// `operations/NAME`.
struct LocationPath {
  std::string service;  // "certificatemanager" or "networksecurity"
  std::string project;
  std::string location;
  std::string collection;
  std::string name;  // empty for the collection itself
};

/// Parses a location-based API path; nullopt if it is not one.
std::optional<LocationPath> parse_location_path(std::string_view path);

class ComputeApi {
 public:
  ComputeApi(ApiOptions options, ApiHooks hooks);

  /// Reads the state file, or creates an empty one. Call before serve's first load.
  bool load_state(std::string& error);

  /// One REST call: `path` without the query string, `body` the JSON text (may be empty),
  /// `query` the text after '?' (only the location-based APIs read it).
  ApiResponse handle(std::string_view method, std::string_view path, std::string_view body,
                     std::string_view query = {});

 private:
  ApiResponse handle_compute(std::string_view method, const ComputePath& path,
                             const boost::json::value& body);
  ApiResponse aggregated_list(std::string_view method, const ComputePath& path);
  ApiResponse handle_operation(std::string_view method, const ComputePath& path);
  ApiResponse handle_services(std::string_view method, std::string_view path,
                              const boost::json::value& body);
  /// trustConfigs and serverTlsPolicies (location_api.cc).
  ApiResponse handle_location(std::string_view method, const LocationPath& path,
                              std::string_view query, const boost::json::value& body);
  ApiResponse location_insert(const Collection& collection, const LocationPath& path,
                              std::string_view query, const boost::json::value& body);
  ApiResponse location_patch(const Collection& collection, const LocationPath& path,
                             std::string_view query, const boost::json::value& body);
  ApiResponse location_delete(const Collection& collection, const LocationPath& path);
  /// apply()s `candidate`, then records and returns the done Operation for `verb` on `key`.
  ApiResponse location_commit(ApiState candidate, const Collection& collection,
                              const ResourceKey& key, std::string_view verb);

  ApiResponse insert(const Collection& collection, const ComputePath& path,
                     boost::json::object body);
  ApiResponse remove(const Collection& collection, const ComputePath& path);
  /// patch (merge), update (replace) and the set* methods (a patch of one field).
  ApiResponse modify(const Collection& collection, const ComputePath& path,
                     std::string_view operation_type, boost::json::object body, bool replace);
  ApiResponse validate_url_map(const ComputePath& path, const boost::json::value& body);

  /// Checks `candidate` the way a reload would, then stores, reloads and records the operation.
  /// On failure the answer is the error; nothing changes.
  ApiResponse commit(ApiState candidate, const ResourceKey& target, const std::string& target_id,
                     std::string_view operation_type);
  /// commit() without the operation: nullopt once `candidate` is the state and serves, else
  /// the error (compute's shape; the loader's message for an invalid config).
  std::optional<ApiResponse> apply(ApiState candidate);
  void record_operation(const boost::json::object& operation);
  /// The first API resource that references `key`, if any.
  std::optional<ResourceKey> used_by(const ResourceKey& key) const;
  /// The stored documents of `state`, with stand-ins for NEG services nothing declares.
  StoredDocuments documents_of(const ApiState& state) const;
  /// Loads `documents` with the other config sources; the snapshot result (errors if any).
  core::SnapshotResult try_documents(const StoredDocuments& documents) const;
  /// Writes the documents serve loads; false (and `error`) on failure.
  bool write_documents(const StoredDocuments& documents, std::string& error) const;
  /// The files the API writes (state file, demo copy): not "defined by files".
  std::vector<std::string> api_files() const;
  /// 404 for the first reference of `resource` that resolves nowhere.
  std::optional<ApiResponse> check_references(const ApiState& state, const ResourceKey& owner,
                                              const boost::json::object& resource) const;
  bool defined_by_files(const ResourceKey& key) const;

  ApiOptions options_;
  ApiHooks hooks_;
  ApiState state_;
  std::deque<boost::json::object> operations_;  // the latest ones, oldest first
};

/// Google's JSON error body: {"error": {code, message, errors: [{message, domain, reason}]}}.
ApiResponse api_error(unsigned status, std::string_view reason, std::string message);

}  // namespace albemu::api
