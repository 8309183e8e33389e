// The location-based APIs behind a target HTTPS proxy's mutual TLS, in the shapes of their
// REST surfaces: certificatemanager v1 trustConfigs and networksecurity v1 serverTlsPolicies.
// Their resources live in the same ApiState and stored document as compute's (stored with a
// short name, `project` and `region` = the location), go through the same load as a reload
// (apply), and their writes answer google.longrunning Operations that are already done.

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/api/compute_api.h"
#include "proxy/api/compute_references.h"

namespace albemu::api {

namespace {

/// Fields the server owns: ignored on create and patch.
constexpr std::string_view kLocationServerFields[] = {"name", "createTime", "updateTime",
                                                      "etag", "project",    "region"};

/// google.rpc.Status names of the HTTP codes albemu answers with.
std::string_view rpc_status(unsigned code) {
  switch (code) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ALREADY_EXISTS";
    case 412:
      return "FAILED_PRECONDITION";
    case 405:
      return "UNIMPLEMENTED";
    default:
      return "INTERNAL";
  }
}

/// The error body of Google's newer APIs: {"error": {code, message, status}}.
ApiResponse location_error(unsigned code, std::string message,
                           std::string_view status = std::string_view()) {
  if (status.empty()) status = rpc_status(code);
  return {code, boost::json::object{{"error", boost::json::object{{"code", code},
                                                                  {"message", std::move(message)},
                                                                  {"status", status}}}}};
}

/// A compute-shaped error (from apply or check_references) in the location APIs' shape.
ApiResponse as_location_error(const ApiResponse& compute) {
  const auto& error = compute.body.as_object().at("error").as_object();
  return location_error(compute.status, string_field(error, "message"));
}

/// The value of `key` in a query string (percent-decoded); empty if absent.
std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) != key) continue;
    std::string out;
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    const auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '%' && i + 2 < value.size() && hex(value[i + 1]) >= 0 &&
          hex(value[i + 2]) >= 0) {
        out += static_cast<char>(hex(value[i + 1]) * 16 + hex(value[i + 2]));
        i += 2;
      } else {
        out += value[i] == '+' ? ' ' : value[i];
      }
    }
    return out;
  }
  return {};
}

std::vector<std::string> split_mask(const std::string& mask) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= mask.size()) {
    size_t comma = mask.find(',', start);
    if (comma == std::string::npos) comma = mask.size();
    if (comma > start) out.push_back(mask.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

/// The field path of the first `pemCertificateFile` in `value` ("" if none): albemu's config
/// files may name PEM files, but the API takes the PEM itself, as Google's does.
std::string pem_file_field(const boost::json::value& value, const std::string& path) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.as_object()) {
      std::string field = path.empty() ? std::string(key) : path + "." + std::string(key);
      if (key == "pemCertificateFile") return field;
      if (std::string found = pem_file_field(item, field); !found.empty()) return found;
    }
  } else if (value.is_array()) {
    const auto& items = value.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      std::string found = pem_file_field(items[i], path + "[" + std::to_string(i) + "]");
      if (!found.empty()) return found;
    }
  }
  return {};
}

/// 400 for a body naming a PEM file instead of holding the PEM.
std::optional<ApiResponse> refuse_pem_files(const boost::json::value& body) {
  const std::string field = pem_file_field(body, "");
  if (field.empty()) return std::nullopt;
  return location_error(400, "Invalid value at '" + field +
                                 "': pemCertificateFile is albemu's config-file field; the API "
                                 "takes the PEM text in pemCertificate");
}

bool server_owned(std::string_view field) {
  return std::find(std::begin(kLocationServerFields), std::end(kLocationServerFields), field) !=
         std::end(kLocationServerFields);
}

/// Now as these APIs write timestamps (RFC 3339, Z-normalized).
std::string location_now() {
  std::string now = rfc3339_now();
  if (now.ends_with("+00:00")) now.replace(now.size() - 6, 6, "Z");
  return now;
}

/// The resource as the API returns it: its full name first, no project or region fields.
boost::json::object location_visible(const Collection& collection,
                                     const boost::json::object& stored) {
  const ResourceKey key = ApiState::key_of(std::string(collection.name), stored);
  boost::json::object out{{"name", partial_url(key)}};
  for (const auto& [field, value] : stored)
    if (field != "name" && field != "project" && field != "region") out[field] = value;
  return out;
}

std::string type_url(const Collection& collection, std::string_view message) {
  return collection.api == ServiceApi::kCertificateManager
             ? "type.googleapis.com/google.cloud.certificatemanager.v1." + std::string(message)
             : "type.googleapis.com/google.cloud.networksecurity.v1." + std::string(message);
}

/// Sets `path` (dotted) of `target` to its value in `source`, or removes it if `source` has
/// none: one entry of an update mask.
void apply_mask_path(boost::json::object& target, const boost::json::object& source,
                     std::string_view path) {
  const size_t dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  const boost::json::value* given = source.if_contains(head);
  if (dot == std::string_view::npos) {
    if (given != nullptr) {
      target[head] = *given;
    } else {
      target.erase(head);
    }
    return;
  }
  if (given == nullptr || !given->is_object()) {
    if (boost::json::value* existing = target.if_contains(head);
        existing != nullptr && existing->is_object())
      apply_mask_path(existing->as_object(), boost::json::object{}, path.substr(dot + 1));
    return;
  }
  boost::json::value& existing = target[head];
  if (!existing.is_object()) existing = boost::json::object{};
  apply_mask_path(existing.as_object(), given->as_object(), path.substr(dot + 1));
}

}  // namespace

std::optional<LocationPath> parse_location_path(std::string_view path) {
  const std::vector<std::string_view> parts = path_segments(path);
  if (parts.size() < 7 || parts.size() > 8 || parts[1] != "v1" || parts[2] != "projects" ||
      parts[4] != "locations")
    return std::nullopt;
  const bool operations = parts[6] == "operations";
  if (parts[0] == "certificatemanager") {
    if (parts[6] != "trustConfigs" && !operations) return std::nullopt;
  } else if (parts[0] == "networksecurity") {
    if (parts[6] != "serverTlsPolicies" && !operations) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return LocationPath{std::string(parts[0]), std::string(parts[3]), std::string(parts[5]),
                      std::string(parts[6]), std::string(parts.size() == 8 ? parts[7] : "")};
}

ApiResponse ComputeApi::handle_location(std::string_view method, const LocationPath& path,
                                        std::string_view query, const boost::json::value& body) {
  const std::string parent = "projects/" + path.project + "/locations/" + path.location;
  if (path.collection == "operations") {
    const std::string name = parent + "/operations/" + path.name;
    if (method != "GET" || path.name.empty())
      return location_error(405, "albemu serves operations.get only");
    // Every operation is done when it is answered.
    for (const auto& operation : operations_)
      if (string_field(operation, "name") == name) return {200, operation};
    return location_error(404, "Resource '" + name + "' was not found");
  }
  const Collection& collection = *find_collection(path.collection);
  if (path.name.empty()) {
    if (method == "POST") return location_insert(collection, path, query, body);
    if (method != "GET")
      return location_error(405, std::string(method) + " is not a method of " + path.collection);
    boost::json::array items;
    for (const auto& resource : state_.items(path.collection)) {
      const ResourceKey key = ApiState::key_of(path.collection, resource);
      if (key.project == path.project && key.region == path.location)
        items.push_back(location_visible(collection, resource));
    }
    boost::json::object out;
    if (!items.empty()) out[path.collection] = std::move(items);
    return {200, std::move(out)};
  }
  const ResourceKey key{path.project, path.location, path.collection, path.name};
  if (method == "GET") {
    if (const auto* resource = state_.find(key))
      return {200, location_visible(collection, *resource)};
    return location_error(404, "Resource '" + partial_url(key) + "' was not found");
  }
  if (method == "PATCH") return location_patch(collection, path, query, body);
  if (method == "DELETE") return location_delete(collection, path);
  return location_error(405, std::string(method) + " is not a method of " + path.collection);
}

ApiResponse ComputeApi::location_insert(const Collection& collection, const LocationPath& path,
                                        std::string_view query, const boost::json::value& body) {
  const std::string id_parameter =
      collection.api == ServiceApi::kCertificateManager ? "trustConfigId" : "serverTlsPolicyId";
  const std::string name = query_value(query, id_parameter);
  if (name.empty())
    return location_error(400, "Required parameter '" + id_parameter + "' is missing");
  if (!body.is_object()) return location_error(400, "The request body must be a JSON object");
  if (auto refused = refuse_pem_files(body)) return std::move(*refused);
  const ResourceKey key{path.project, path.location, path.collection, name};
  if (state_.find(key) != nullptr || defined_by_files(key))
    return location_error(409, "Resource '" + partial_url(key) + "' already exists");
  const std::string now = location_now();
  boost::json::object resource{{"name", name},
                               {"project", path.project},
                               {"region", path.location},
                               {"createTime", now},
                               {"updateTime", now}};
  for (const auto& [field, value] : body.as_object()) {
    if (!server_owned(field)) resource[field] = value;
  }
  if (auto missing = check_references(state_, key, resource)) return as_location_error(*missing);
  ApiState candidate = state_;
  candidate.insert(path.collection, std::move(resource));
  return location_commit(std::move(candidate), collection, key, "create");
}

ApiResponse ComputeApi::location_patch(const Collection& collection, const LocationPath& path,
                                       std::string_view query, const boost::json::value& body) {
  const ResourceKey key{path.project, path.location, path.collection, path.name};
  const boost::json::object* current = state_.find(key);
  if (current == nullptr)
    return location_error(404, "Resource '" + partial_url(key) + "' was not found");
  if (!body.is_object()) return location_error(400, "The request body must be a JSON object");
  if (auto refused = refuse_pem_files(body)) return std::move(*refused);
  const std::string mask = query_value(query, "updateMask");
  // certificatemanager requires the mask; networksecurity overwrites every field without one.
  if (mask.empty() && collection.api == ServiceApi::kCertificateManager)
    return location_error(400, "Required parameter 'updateMask' is missing");
  boost::json::object resource = *current;
  if (mask.empty()) {
    for (auto it = resource.begin(); it != resource.end();) {
      it = server_owned(it->key()) ? std::next(it) : resource.erase(it);
    }
    for (const auto& [field, value] : body.as_object())
      if (!resource.contains(field)) resource[field] = value;
  } else {
    for (const std::string& field : split_mask(mask)) {
      const std::string_view head = std::string_view(field).substr(0, field.find('.'));
      if (!server_owned(head)) apply_mask_path(resource, body.as_object(), field);
    }
  }
  resource["updateTime"] = location_now();
  if (auto missing = check_references(state_, key, resource)) return as_location_error(*missing);
  ApiState candidate = state_;
  *candidate.find(key) = std::move(resource);
  return location_commit(std::move(candidate), collection, key, "update");
}

ApiResponse ComputeApi::location_delete(const Collection& collection, const LocationPath& path) {
  const ResourceKey key{path.project, path.location, path.collection, path.name};
  if (state_.find(key) == nullptr) {
    if (defined_by_files(key)) {
      return location_error(400,
                            "Resource '" + partial_url(key) +
                                "' is defined by a config file of albemu serve; edit that file",
                            "FAILED_PRECONDITION");
    }
    return location_error(404, "Resource '" + partial_url(key) + "' was not found");
  }
  if (const std::optional<ResourceKey> owner = used_by(key)) {
    // GCP refuses to delete a trust config or policy that is still attached.
    return location_error(400,
                          "The " + std::string(collection.type_name) + " resource '" +
                              partial_url(key) + "' is in use by '" + partial_url(*owner) + "'",
                          "FAILED_PRECONDITION");
  }
  ApiState candidate = state_;
  candidate.erase(key);
  return location_commit(std::move(candidate), collection, key, "delete");
}

ApiResponse ComputeApi::location_commit(ApiState candidate, const Collection& collection,
                                        const ResourceKey& key, std::string_view verb) {
  if (std::optional<ApiResponse> failed = apply(std::move(candidate)))
    return as_location_error(*failed);
  const std::string now = location_now();
  boost::json::object response{{"@type", "type.googleapis.com/google.protobuf.Empty"}};
  if (const auto* resource = state_.find(key)) {
    response = boost::json::object{
        {"@type", type_url(collection, collection.api == ServiceApi::kCertificateManager
                                           ? "TrustConfig"
                                           : "ServerTlsPolicy")}};
    for (auto& [field, value] : location_visible(collection, *resource)) response[field] = value;
  }
  boost::json::object operation{
      {"name", "projects/" + key.project + "/locations/" + key.region + "/operations/" +
                   new_operation_name()},
      {"metadata", boost::json::object{{"@type", type_url(collection, "OperationMetadata")},
                                       {"createTime", now},
                                       {"endTime", now},
                                       {"target", partial_url(key)},
                                       {"verb", verb},
                                       {"requestedCancellation", false},
                                       {"apiVersion", "v1"}}},
      {"done", true},
      {"response", std::move(response)}};
  record_operation(operation);
  return {200, std::move(operation)};
}

}  // namespace albemu::api
