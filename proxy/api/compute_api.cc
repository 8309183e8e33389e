#include "proxy/api/compute_api.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proxy/api/compute_references.h"

namespace albemu::api {

namespace {

constexpr size_t kOperationsKept = 2000;

/// RFC 7386 JSON merge patch, which compute's PATCH follows: objects merge, null removes,
/// anything else replaces.
void merge_patch(boost::json::object& target, const boost::json::object& patch) {
  for (const auto& [key, value] : patch) {
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_object() && target.contains(key) && target.at(key).is_object()) {
      merge_patch(target.at(key).as_object(), value.as_object());
    } else {
      target[key] = value;
    }
  }
}

/// A list's id, as compute writes it: `projects/P/regions/R/C`.
std::string list_id(const std::string& project, const std::string& region,
                    const std::string& collection) {
  std::string id = partial_url(ResourceKey{project, region, collection, ""});
  id.pop_back();  // the empty name's slash
  return id;
}

/// Drops nulls, empty objects and empty arrays: proto3 JSON reads them as absent, and
/// Google's clients send a resource they read back with every map and list field present.
void drop_empty(boost::json::object& object) {
  for (auto it = object.begin(); it != object.end();) {
    boost::json::value& value = it->value();
    if (value.is_object()) drop_empty(value.as_object());
    if (value.is_array()) {
      for (auto& item : value.as_array())
        if (item.is_object()) drop_empty(item.as_object());
    }
    const bool empty = value.is_null() || (value.is_object() && value.as_object().empty()) ||
                       (value.is_array() && value.as_array().empty());
    it = empty ? object.erase(it) : std::next(it);
  }
}

/// The object a client sees: the stored one without albemu's project field, and without a
/// certificate's private key, which compute never returns.
boost::json::object visible(const boost::json::object& stored) {
  boost::json::object out = stored;
  out.erase("project");
  if (string_field(out, "kind") == "compute#sslCertificate") out.erase("privateKey");
  return out;
}

/// Adds the server-owned fields to a client's resource: compute's order is kind, id,
/// creationTimestamp, the resource's own fields, then region, selfLink and fingerprint.
boost::json::object decorate(const Collection& collection, const ResourceKey& key,
                             const std::string& id, const std::string& created,
                             boost::json::object fields) {
  strip_output_only(fields);
  drop_empty(fields);
  fields.erase("project");
  fields["name"] = key.name;
  boost::json::value expanded(std::move(fields));
  expand_references(expanded, key);
  boost::json::object out{{"kind", collection.kind}, {"id", id}, {"creationTimestamp", created}};
  for (auto& [field, value] : expanded.as_object()) out[field] = std::move(value);
  if (collection.name == "sslCertificates") {
    if (!out.contains("type")) out["type"] = "SELF_MANAGED";
    for (auto& [field, value] : certificate_facts(string_field(out, "certificate")))
      out[field] = value;
  }
  if (collection.regional) out["region"] = region_url(key.project, key.region);
  out["selfLink"] = full_url(key);
  out["project"] = key.project;
  if (collection.has_fingerprint) out["fingerprint"] = fingerprint_of(out);
  return out;
}

}  // namespace

ApiResponse api_error(unsigned status, std::string_view reason, std::string message) {
  boost::json::object detail{{"message", message}, {"domain", "global"}, {"reason", reason}};
  return {status, boost::json::object{
                      {"error", boost::json::object{{"code", status},
                                                    {"message", message},
                                                    {"errors", boost::json::array{detail}}}}}};
}

ComputeApi::ComputeApi(ApiOptions options, ApiHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {}

bool ComputeApi::load_state(std::string& error) {
  const std::string& file = options_.state_file;
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!state_.from_document(text.str(), error)) {
      error = file + ": " + error;
      return false;
    }
  }
  // Written again so the demo copy and the implicit stand-ins match the state read.
  return write_documents(documents_of(state_), error);
}

ApiResponse ComputeApi::handle(std::string_view method, std::string_view path,
                               std::string_view body_text, std::string_view query) {
  boost::json::value body;
  if (!body_text.empty()) {
    boost::system::error_code ec;
    body = boost::json::parse(body_text, ec);
    if (ec) return api_error(400, "parseError", "Invalid JSON payload received. " + ec.message());
  }
  canonicalise_urls(body);
  if (path.starts_with("/albemu/v1/")) return handle_services(method, path, body);
  if (std::optional<LocationPath> location = parse_location_path(path))
    return handle_location(method, *location, query, body);
  const std::optional<ComputePath> compute_path = parse_compute_path(path);
  if (!compute_path) {
    return api_error(404, "notFound",
                     "The requested URL " + std::string(path) + " was not found on albemu.");
  }
  if (compute_path->aggregated) return aggregated_list(method, *compute_path);
  if (compute_path->collection == "operations") return handle_operation(method, *compute_path);
  return handle_compute(method, *compute_path, body);
}

ApiResponse ComputeApi::aggregated_list(std::string_view method, const ComputePath& path) {
  const Collection* collection = find_collection(path.collection);
  if (collection == nullptr || collection->api != ServiceApi::kCompute || method != "GET")
    return api_error(404, "notFound", "albemu has no aggregated list of '" + path.collection + "'");
  // gcloud's `list` without --regions reads this: scope ("regions/R" or "global") -> items.
  boost::json::object scopes;
  for (const auto& resource : state_.items(path.collection)) {
    const ResourceKey key = ApiState::key_of(path.collection, resource);
    if (key.project != path.project) continue;
    const std::string scope = key.region.empty() ? "global" : "regions/" + key.region;
    boost::json::value& entry = scopes[scope];
    if (!entry.is_object()) entry = boost::json::object{{path.collection, boost::json::array{}}};
    entry.as_object()[path.collection].as_array().push_back(visible(resource));
  }
  std::string kind(collection->kind);
  return {200,
          boost::json::object{{"kind", kind + "AggregatedList"},
                              {"id", "projects/" + path.project + "/aggregated/" + path.collection},
                              {"items", std::move(scopes)},
                              {"selfLink", "https://www.googleapis.com/compute/v1/projects/" +
                                               path.project + "/aggregated/" + path.collection}}};
}

ApiResponse ComputeApi::handle_compute(std::string_view method, const ComputePath& path,
                                       const boost::json::value& body) {
  const Collection* collection = find_collection(path.collection);
  if (collection == nullptr || collection->api != ServiceApi::kCompute ||
      collection->regional == path.region.empty()) {
    return api_error(404, "notFound",
                     "albemu does not serve the collection '" + path.collection + "' " +
                         (path.region.empty() ? "under global/" : "under regions/"));
  }
  const boost::json::object empty;
  const boost::json::object& object = body.is_object() ? body.as_object() : empty;
  const ResourceKey key{path.project, path.region, path.collection, path.name};
  if (path.name.empty()) {
    if (method == "GET") {
      boost::json::array items;
      for (const auto& resource : state_.items(path.collection)) {
        const ResourceKey item = ApiState::key_of(path.collection, resource);
        if (item.project == path.project && item.region == path.region)
          items.push_back(visible(resource));
      }
      std::string kind(collection->kind);
      return {200, boost::json::object{
                       {"kind", kind + "List"},
                       {"id", list_id(path.project, path.region, path.collection)},
                       {"items", std::move(items)},
                       {"selfLink", collection_url(path.project, path.region, path.collection)}}};
    }
    if (method == "POST") {
      if (!body.is_object())
        return api_error(400, "required", "Required field 'resource' not specified");
      return insert(*collection, path, body.as_object());
    }
  } else if (path.verb.empty()) {
    if (method == "GET") {
      if (const auto* resource = state_.find(key)) return {200, visible(*resource)};
      return api_error(404, "notFound", "The resource '" + partial_url(key) + "' was not found");
    }
    if (method == "DELETE") return remove(*collection, path);
    if ((method == "PATCH" || method == "PUT") && (!body.is_object() || object.empty()))
      return api_error(400, "required", "Required field 'resource' not specified");
    if (method == "PATCH" && collection->has_patch)
      return modify(*collection, path, "patch", object, false);
    if (method == "PUT" && collection->has_update)
      return modify(*collection, path, "update", object, true);
  } else if (method == "POST") {
    const std::string& verb = path.verb;
    const auto one_field = [&](std::string_view field) {
      boost::json::object patch;
      // An empty reference detaches, as setSecurityPolicy with "" does in compute.
      if (const auto* value = object.if_contains(field))
        patch[field] = value->is_string() && value->as_string().empty() ? nullptr : *value;
      if (const auto* fingerprint = object.if_contains("fingerprint"))
        patch["fingerprint"] = *fingerprint;
      return patch;
    };
    if (verb == "validate" && path.collection == "urlMaps") return validate_url_map(path, body);
    if (verb == "setUrlMap" &&
        (path.collection == "targetHttpProxies" || path.collection == "targetHttpsProxies"))
      return modify(*collection, path, verb, one_field("urlMap"), false);
    if (verb == "setSslCertificates" && path.collection == "targetHttpsProxies")
      return modify(*collection, path, verb, one_field("sslCertificates"), false);
    if (verb == "setTarget" && path.collection == "forwardingRules")
      return modify(*collection, path, verb, one_field("target"), false);
    if (verb == "setSecurityPolicy" && path.collection == "backendServices")
      return modify(*collection, path, verb, one_field("securityPolicy"), false);
  }
  return api_error(405, "methodNotAllowed",
                   std::string(method) + " " + partial_url(key) +
                       (path.verb.empty() ? "" : "/" + path.verb) +
                       " is not a method albemu's compute API serves");
}

ApiResponse ComputeApi::insert(const Collection& collection, const ComputePath& path,
                               boost::json::object body) {
  const std::string name = string_field(body, "name");
  if (name.empty())
    return api_error(400, "required", "Required field 'resource.name' not specified");
  const ResourceKey key{path.project, path.region, path.collection, name};
  bool taken = defined_by_files(key);
  for (const auto& resource : state_.items(path.collection))
    taken = taken || string_field(resource, "name") == name;
  if (taken)
    return api_error(409, "alreadyExists",
                     "The resource '" + partial_url(key) + "' already exists");
  const std::string id = new_id();
  boost::json::object resource = decorate(collection, key, id, rfc3339_now(), std::move(body));
  if (auto missing = check_references(state_, key, resource)) return std::move(*missing);
  ApiState candidate = state_;
  candidate.insert(path.collection, std::move(resource));
  return commit(std::move(candidate), key, id, "insert");
}

ApiResponse ComputeApi::remove(const Collection& collection, const ComputePath& path) {
  const ResourceKey key{path.project, path.region, path.collection, path.name};
  const boost::json::object* resource = state_.find(key);
  if (resource == nullptr) {
    if (defined_by_files(key)) {
      return api_error(400, "invalid",
                       "The resource '" + partial_url(key) +
                           "' is defined by a config file of albemu serve; edit that file");
    }
    return api_error(404, "notFound", "The resource '" + partial_url(key) + "' was not found");
  }
  const std::string id = string_field(*resource, "id");
  if (const std::optional<ResourceKey> owner = used_by(key)) {
    return api_error(400, "resourceInUseByAnotherResource",
                     "The " + std::string(collection.type_name) + " resource '" + partial_url(key) +
                         "' is already being used by '" + partial_url(*owner) + "'");
  }
  ApiState candidate = state_;
  candidate.erase(key);
  return commit(std::move(candidate), key, id, "delete");
}

ApiResponse ComputeApi::modify(const Collection& collection, const ComputePath& path,
                               std::string_view operation_type, boost::json::object body,
                               bool replace) {
  const ResourceKey key{path.project, path.region, path.collection, path.name};
  const boost::json::object* current = state_.find(key);
  if (current == nullptr)
    return api_error(404, "notFound", "The resource '" + partial_url(key) + "' was not found");
  const std::string supplied = string_field(body, "fingerprint");
  if (collection.has_fingerprint && !supplied.empty() &&
      supplied != string_field(*current, "fingerprint")) {
    return api_error(
        412, "conditionNotMet",
        "Supplied fingerprint does not match current fingerprint of '" + partial_url(key) + "'.");
  }
  boost::json::object fields;
  if (replace) {
    fields = std::move(body);
  } else {
    fields = *current;
    strip_output_only(fields);
    strip_output_only(body);
    body.erase("name");
    merge_patch(fields, body);
  }
  const std::string id = string_field(*current, "id");
  boost::json::object resource =
      decorate(collection, key, id, string_field(*current, "creationTimestamp"), std::move(fields));
  if (auto missing = check_references(state_, key, resource)) return std::move(*missing);
  ApiState candidate = state_;
  *candidate.find(key) = std::move(resource);
  return commit(std::move(candidate), key, id, operation_type);
}

ApiResponse ComputeApi::handle_operation(std::string_view method, const ComputePath& path) {
  const bool get = method == "GET" && path.verb.empty();
  const bool wait = method == "POST" && path.verb == "wait";
  if (path.name.empty() && method == "GET") {
    boost::json::array items;
    for (const auto& operation : operations_) {
      if (string_field(operation, "selfLink")
              .starts_with(collection_url(path.project, path.region, "operations") + "/"))
        items.push_back(operation);
    }
    return {200, boost::json::object{
                     {"kind", "compute#operationList"},
                     {"id", list_id(path.project, path.region, "operations")},
                     {"items", std::move(items)},
                     {"selfLink", collection_url(path.project, path.region, "operations")}}};
  }
  if (path.name.empty() || !(get || wait))
    return api_error(405, "methodNotAllowed", "operations support get, wait and list");
  const ResourceKey key{path.project, path.region, "operations", path.name};
  // Every operation is DONE when it is answered, so wait returns at once.
  for (const auto& operation : operations_)
    if (string_field(operation, "selfLink") == full_url(key)) return {200, operation};
  return api_error(404, "notFound", "The resource '" + partial_url(key) + "' was not found");
}

std::optional<ResourceKey> ComputeApi::used_by(const ResourceKey& key) const {
  for (const auto& [other_collection, other] : state_.all()) {
    const ResourceKey owner = ApiState::key_of(other_collection, *other);
    if (owner == key) continue;
    for (const ResourceKey& reference : references_of(*other, owner))
      if (reference == key) return owner;
  }
  return std::nullopt;
}

ApiResponse ComputeApi::commit(ApiState candidate, const ResourceKey& target,
                               const std::string& target_id, std::string_view operation_type) {
  if (std::optional<ApiResponse> failed = apply(std::move(candidate))) return std::move(*failed);

  const std::string now = rfc3339_now();
  const std::string name = new_operation_name();
  const ResourceKey operation_key{target.project, target.region, "operations", name};
  boost::json::object operation{{"kind", "compute#operation"},
                                {"id", new_id()},
                                {"name", name},
                                {"operationType", operation_type},
                                {"targetLink", full_url(target)},
                                {"targetId", target_id},
                                {"status", "DONE"},
                                {"user", "albemu"},
                                {"progress", 100},
                                {"insertTime", now},
                                {"startTime", now},
                                {"endTime", now},
                                {"selfLink", full_url(operation_key)}};
  if (!target.region.empty()) operation["region"] = region_url(target.project, target.region);
  record_operation(operation);
  return {200, std::move(operation)};
}

void ComputeApi::record_operation(const boost::json::object& operation) {
  operations_.push_back(operation);
  if (operations_.size() > kOperationsKept) operations_.pop_front();
}

std::optional<ApiResponse> ComputeApi::apply(ApiState candidate) {
  const StoredDocuments documents = documents_of(candidate);
  const core::SnapshotResult result = try_documents(documents);
  if (!result.snapshot) {
    std::string message = config::format_errors(result.errors);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return api_error(400, "invalid", "Invalid resource: " + message);
  }
  std::string error;
  if (!write_documents(documents, error)) return api_error(500, "backendError", error);
  error = hooks_.reload();
  if (!error.empty()) {
    std::string ignored;
    write_documents(documents_of(state_), ignored);
    hooks_.reload();  // serves the restored document again, which clears the reload error
    while (!error.empty() && error.back() == '\n') error.pop_back();
    return api_error(400, "invalid", "The change does not apply: " + error);
  }
  state_ = std::move(candidate);
  return std::nullopt;
}

}  // namespace albemu::api
