// ComputeApi's checks against the config (references, names the files take, the candidate
// document's load), urlMaps.validate, and albemu's Cloud Run stand-in endpoint.

#include <algorithm>
#include <filesystem>
#include <set>

#include "config/embedded_demo.h"
#include "proxy/api/compute_api.h"
#include "proxy/api/compute_references.h"

namespace albemu::api {

namespace {

/// Replaces every occurrence of `from` in `text` (candidate file names in loader messages).
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

boost::json::array error_strings(const config::ConfigErrors& errors, const std::string& from,
                                 const std::string& to) {
  boost::json::array out;
  for (const auto& error : errors)
    out.push_back(boost::json::string(replace_all(error.to_string(), from, to)));
  return out;
}

}  // namespace

bool ComputeApi::defined_by_files(const ResourceKey& key) const {
  const auto snapshot = hooks_.snapshot();
  if (!snapshot) return false;
  // albemu keys URL maps, services and rules by name alone, so any region or project clashes.
  for (const ResourceKey& defined : file_defined(snapshot->config, api_files()))
    if (defined.collection == key.collection && defined.name == key.name) return true;
  return false;
}

std::optional<ApiResponse> ComputeApi::check_references(const ApiState& state,
                                                        const ResourceKey& owner,
                                                        const boost::json::object& resource) const {
  const auto snapshot = hooks_.snapshot();
  std::vector<ResourceKey> defined;
  if (snapshot) defined = file_defined(snapshot->config, api_files());
  for (const ResourceKey& reference : references_of(resource, owner)) {
    if (reference == owner || state.find(reference) != nullptr) continue;
    bool found = false;
    for (const ResourceKey& file_key : defined) {
      found = found || (file_key.collection == reference.collection &&
                        file_key.name == reference.name && file_key.region == reference.region);
    }
    if (!found) {
      return api_error(404, "notFound",
                       "The resource '" + partial_url(reference) + "' was not found");
    }
  }
  return std::nullopt;
}

std::vector<std::string> ComputeApi::api_files() const {
  return {options_.state_file, options_.demo_file};
}

StoredDocuments ComputeApi::documents_of(const ApiState& state) const {
  std::set<ResourceKey, decltype([](const ResourceKey& a, const ResourceKey& b) {
             return std::tie(a.project, a.region, a.name) < std::tie(b.project, b.region, b.name);
           })>
      declared;
  const std::string services(kCloudRunServices);
  for (const auto& service : state.items(services))
    declared.insert(ApiState::key_of(services, service));
  if (const auto snapshot = hooks_.snapshot()) {
    for (const ResourceKey& key : file_defined(snapshot->config, api_files()))
      if (key.collection == services) declared.insert(key);
  }
  std::vector<boost::json::object> implicit;
  for (const auto& neg : state.items("networkEndpointGroups")) {
    const auto* cloud_run = neg.if_contains("cloudRun");
    if (cloud_run == nullptr || !cloud_run->is_object()) continue;
    const std::string service = string_field(cloud_run->as_object(), "service");
    if (service.empty()) continue;
    const ResourceKey neg_key = ApiState::key_of("networkEndpointGroups", neg);
    const ResourceKey key{neg_key.project, neg_key.region, services, service};
    if (!declared.insert(key).second) continue;
    implicit.push_back(
        boost::json::object{{"name", service},
                            {"project", key.project},
                            {"region", key.region},
                            {"labels", boost::json::object{{kImplicitLabel, "true"}}}});
  }
  StoredDocuments out;
  out.config = state.to_document(implicit);
  if (!options_.demo_file.empty()) {
    out.demo =
        state.all().empty() ? std::string(config::embedded_demo_config()) : std::string("{}\n");
  }
  return out;
}

bool ComputeApi::write_documents(const StoredDocuments& documents, std::string& error) const {
  if (!options_.demo_file.empty() &&
      !write_file_atomically(options_.demo_file, documents.demo, error))
    return false;
  return write_file_atomically(options_.state_file, documents.config, error);
}

core::SnapshotResult ComputeApi::try_documents(const StoredDocuments& documents) const {
  const std::string candidate = options_.scratch_dir + "/candidate-api-state.yaml";
  const std::string demo = options_.scratch_dir + "/candidate-demo.yaml";
  std::string error;
  if (!write_file_atomically(candidate, documents.config, error) ||
      (!options_.demo_file.empty() && !write_file_atomically(demo, documents.demo, error))) {
    core::SnapshotResult result;
    result.errors.push_back(config::ConfigError{candidate, "", error});
    return result;
  }
  std::vector<std::string> paths = options_.config_paths;
  for (std::string& path : paths)
    if (path == options_.demo_file) path = demo;
  paths.push_back(candidate);
  core::SnapshotResult result = core::build_snapshot(config::load_config_files(paths), 0);
  // Messages name the state file, which is what the candidate becomes.
  for (auto& config_error : result.errors)
    if (config_error.file == candidate) config_error.file = options_.state_file;
  for (auto& validation : result.validations) {
    if (validation.file == candidate) validation.file = options_.state_file;
    for (auto& config_error : validation.load_errors)
      if (config_error.file == candidate) config_error.file = options_.state_file;
  }
  return result;
}

ApiResponse ComputeApi::validate_url_map(const ComputePath& path, const boost::json::value& body) {
  const auto* given = body.is_object() ? body.as_object().if_contains("resource") : nullptr;
  if (given == nullptr || !given->is_object())
    return api_error(400, "required", "Required field 'resource' not specified");
  boost::json::object resource = given->as_object();
  std::string name = string_field(resource, "name");
  if (name.empty()) name = path.name;
  resource["name"] = name;
  resource["project"] = path.project;
  resource["region"] = path.region;
  ApiState candidate = state_;
  const ResourceKey key{path.project, path.region, "urlMaps", name};
  if (boost::json::object* existing = candidate.find(key)) {
    *existing = std::move(resource);
  } else {
    candidate.insert("urlMaps", std::move(resource));
  }
  const core::SnapshotResult result = try_documents(documents_of(candidate));
  boost::json::object out{{"loadSucceeded", false},
                          {"loadErrors", error_strings(result.errors, "", "")},
                          {"testPassed", false},
                          {"testFailures", boost::json::array{}}};
  for (const auto& validation : result.validations) {
    if (validation.url_map != name) continue;
    out["loadSucceeded"] = validation.load_succeeded;
    out["loadErrors"] = error_strings(validation.load_errors, "", "");
    out["testPassed"] = validation.test_passed;
    boost::json::array failures;
    for (const auto& failure : validation.test_failures) {
      boost::json::object item{{"host", failure.host},
                               {"path", failure.path},
                               {"expectedService", failure.expected_service},
                               {"actualService", failure.actual_service}};
      if (!failure.expected_output_url.empty()) {
        item["expectedOutputUrl"] = failure.expected_output_url;
        item["actualOutputUrl"] = failure.actual_output_url;
      }
      if (failure.expected_redirect_response_code != 0) {
        item["expectedRedirectResponseCode"] = failure.expected_redirect_response_code;
        item["actualRedirectResponseCode"] = failure.actual_redirect_response_code;
      }
      boost::json::array headers;
      for (const auto& header : failure.headers)
        headers.push_back(boost::json::object{{"name", header.name}, {"value", header.value}});
      if (!headers.empty()) item["headers"] = std::move(headers);
      failures.push_back(std::move(item));
    }
    out["testFailures"] = std::move(failures);
  }
  if (out.at("loadSucceeded").as_bool()) out.erase("loadErrors");
  return {200, boost::json::object{{"result", std::move(out)}}};
}

ApiResponse ComputeApi::handle_services(std::string_view method, std::string_view path,
                                        const boost::json::value& body) {
  // /albemu/v1/projects/P/locations/R/services[/NAME]
  const std::vector<std::string_view> parts = path_segments(path);
  if (parts.size() < 7 || parts.size() > 8 || parts[2] != "projects" || parts[4] != "locations" ||
      parts[6] != "services")
    return api_error(404, "notFound",
                     "The requested URL " + std::string(path) + " was not found on albemu.");
  const std::string project(parts[3]);
  const std::string region(parts[5]);
  const std::string services(kCloudRunServices);
  const auto shown = [](boost::json::object service) {
    service.erase("project");
    return service;
  };
  if (parts.size() == 7 && method == "GET") {
    boost::json::array items;
    for (const auto& service : state_.items(services)) {
      const ResourceKey key = ApiState::key_of(services, service);
      if (key.project == project && key.region == region) items.push_back(shown(service));
    }
    return {200, boost::json::object{{"services", std::move(items)}}};
  }
  if (parts.size() == 7 && method == "POST") {
    if (!body.is_object()) return api_error(400, "required", "the body must be a JSON object");
    const auto& given = body.as_object();
    const std::string name = string_field(given, "name");
    if (name.empty()) return api_error(400, "required", "Required field 'name' not specified");
    const ResourceKey key{project, region, services, name};
    if (defined_by_files(key))
      return api_error(409, "alreadyExists",
                       "The service '" + name + "' is defined by a config file");
    boost::json::object service{{"name", name}, {"project", project}, {"region", region}};
    for (const char* field : {"ingress", "url", "urls", "tags", "useHttp2", "caCertificateFile"})
      if (const auto* value = given.if_contains(field)) service[field] = *value;
    ApiState candidate = state_;
    candidate.erase(key);  // deploying again replaces the service, as `gcloud run deploy` does
    candidate.insert(services, service);
    ApiResponse answer = commit(std::move(candidate), key, "", "deploy");
    if (answer.status == 200) answer.body = shown(service);
    return answer;
  }
  if (parts.size() == 8) {
    const ResourceKey key{project, region, services, std::string(parts[7])};
    const boost::json::object* service = state_.find(key);
    if (service == nullptr)
      return api_error(404, "notFound",
                       "The service '" + std::string(parts[7]) + "' was not found");
    if (method == "GET") return {200, shown(*service)};
    if (method == "DELETE") {
      ApiState candidate = state_;
      candidate.erase(key);
      ApiResponse answer = commit(std::move(candidate), key, "", "delete");
      if (answer.status == 200) answer.body = boost::json::object{};
      return answer;
    }
  }
  return api_error(405, "methodNotAllowed", "services support list, get, POST (deploy) and DELETE");
}

}  // namespace albemu::api
