// `albemu gcloud certificate-manager trust-configs ...` and `albemu gcloud network-security
// server-tls-policies ...`: import, export, describe, list and delete of the resources behind
// a target HTTPS proxy's mutual TLS, against albemu's certificatemanager and networksecurity
// endpoints. Their writes answer google.longrunning Operations; errors print as gcloud prints
// those APIs' errors (`STATUS: message`).
//
// A trust config file may name its PEM files with albemu's `pemCertificateFile` (as the -c
// config files do): import reads each one, relative to the --source file's folder, and sends
// its text as `pemCertificate`, so the API and what export writes hold the PEM inline.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "proxy/cli/gcloud.h"

namespace albemu::cli::gcloud {

namespace {

/// One location-based resource type as gcloud's command groups name it.
struct LocationGroup {
  std::string words;       // "certificate-manager trust-configs"
  std::string service;     // "certificatemanager": the API's path prefix
  std::string collection;  // "trustConfigs"
  std::string kind;        // "trustConfig", as gcloud's messages name it
  std::string id_parameter;
  std::string default_location;  // gcloud's default for --location ("" : none)
  std::string mutable_fields;    // the updateMask an import sends to replace the resource
};

const std::vector<LocationGroup>& location_groups() {
  static const std::vector<LocationGroup> kAll = {
      {"certificate-manager trust-configs", "certificatemanager", "trustConfigs", "trustConfig",
       "trustConfigId", "global", "description,labels,trustStores,allowlistedCertificates"},
      {"network-security server-tls-policies", "networksecurity", "serverTlsPolicies",
       "serverTlsPolicy", "serverTlsPolicyId", "", "description,labels,mtlsPolicy"},
  };
  return kAll;
}

/// Where a command's resource lives: from NAME (which may be the full
/// `projects/P/locations/L/COLLECTION/N`), --location and --project.
struct LocationTarget {
  std::string project;
  std::string location;
  std::string name;  // empty for list
};

std::optional<LocationTarget> target_of(const Invocation& invocation, const LocationGroup& group) {
  LocationTarget target{invocation.project, invocation.flag("location", group.default_location),
                        ""};
  if (!invocation.positionals.empty()) {
    target.name = invocation.name();
    const std::string prefix = "projects/";
    if (target.name.starts_with(prefix)) {
      std::vector<std::string> parts;
      std::istringstream split(target.name);
      for (std::string part; std::getline(split, part, '/');) parts.push_back(part);
      if (parts.size() != 6 || parts[2] != "locations" || parts[4] != group.collection) {
        fail(invocation, "[" + target.name + "] is not a " + group.kind +
                             " name (projects/PROJECT/locations/LOCATION/" + group.collection +
                             "/NAME)");
        return std::nullopt;
      }
      target = LocationTarget{parts[1], parts[3], parts[5]};
    }
  }
  if (target.location.empty()) {
    fail(invocation, "Error parsing [" + group.kind +
                         "]. The [location] attribute is required: specify --location.");
    return std::nullopt;
  }
  return target;
}

std::string location_api_path(const LocationGroup& group, const LocationTarget& target) {
  std::string path = "/" + group.service + "/v1/projects/" + target.project + "/locations/" +
                     target.location + "/" + group.collection;
  if (!target.name.empty()) path += "/" + target.name;
  return path;
}

/// gcloud's line for an error of these APIs: `STATUS: message`; returns 1.
int fail_location(const Invocation& invocation, const ApiReply& reply) {
  if (reply.status == 0) return fail(invocation, reply.transport_error);
  const auto* error =
      reply.body.is_object() ? reply.body.as_object().if_contains("error") : nullptr;
  if (error == nullptr || !error->is_object())
    return fail(invocation, "HTTP " + std::to_string(reply.status));
  const std::string status = text(*error, "status");
  return fail(invocation, (status.empty() ? "" : status + ": ") + text(*error, "message"));
}

/// Waits for the Operation `reply` carries (albemu's are done at once); nullopt on success,
/// else the exit code after printing the error.
std::optional<int> await_operation(const Invocation& invocation, const LocationGroup& group,
                                   const ApiReply& reply) {
  if (!reply.ok()) return fail_location(invocation, reply);
  boost::json::value operation = reply.body;
  const auto done = [&] {
    const auto* flag = operation.as_object().if_contains("done");
    return flag != nullptr && flag->is_bool() && flag->as_bool();
  };
  for (int attempt = 0; attempt < 100 && !done(); ++attempt) {
    const ApiReply polled =
        invocation.api->call("GET", "/" + group.service + "/v1/" + text(operation, "name"));
    if (!polled.ok()) return fail_location(invocation, polled);
    operation = polled.body;
  }
  if (!done()) return fail(invocation, "the operation did not finish");
  if (const auto* error = operation.as_object().if_contains("error"))
    return fail(invocation, text(*error, "message"));
  return std::nullopt;
}

/// Replaces every `pemCertificateFile` in `value` by the file's text as `pemCertificate`
/// (relative paths from `base`); false after printing the error.
bool inline_pem_files(const Invocation& invocation, boost::json::value& value,
                      const std::filesystem::path& base) {
  if (value.is_array()) {
    for (auto& item : value.as_array())
      if (!inline_pem_files(invocation, item, base)) return false;
    return true;
  }
  if (!value.is_object()) return true;
  auto& object = value.as_object();
  if (const auto* file = object.if_contains("pemCertificateFile")) {
    if (object.contains("pemCertificate")) {
      fail(invocation, "pemCertificate and pemCertificateFile are exclusive");
      return false;
    }
    std::filesystem::path path(file->is_string() ? std::string(file->as_string()) : "");
    if (path.is_relative()) path = base / path;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream pem;
    if (!in || !(pem << in.rdbuf())) {
      fail(invocation, "Unable to read file [" + path.string() + "] (pemCertificateFile)");
      return false;
    }
    object.erase("pemCertificateFile");
    object["pemCertificate"] = pem.str();
  }
  for (auto& entry : object)
    if (!inline_pem_files(invocation, entry.value(), base)) return false;
  return true;
}

/// The --source file (stdin without it) as a JSON object with PEM files inlined.
std::optional<boost::json::object> read_location_source(const Invocation& invocation) {
  const std::string source = invocation.flag("source", "-");
  std::ostringstream buffer;
  std::filesystem::path base = std::filesystem::current_path();
  if (source == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream file(source, std::ios::binary);
    if (!file || !(buffer << file.rdbuf())) {
      fail(invocation, "Unable to read file [" + source + "]");
      return std::nullopt;
    }
    base = std::filesystem::absolute(source).parent_path();
  }
  std::string error;
  std::optional<boost::json::value> parsed = from_yaml(buffer.str(), error);
  if (!parsed || !parsed->is_object()) {
    fail(invocation,
         "Invalid YAML in [" + source + "]: " + (error.empty() ? "expected a mapping" : error));
    return std::nullopt;
  }
  if (!inline_pem_files(invocation, *parsed, base)) return std::nullopt;
  boost::json::object resource = std::move(parsed->as_object());
  for (const char* field : {"name", "createTime", "updateTime", "etag"}) resource.erase(field);
  return resource;
}

int location_import(const Invocation& invocation, const LocationGroup& group) {
  const auto target = target_of(invocation, group);
  if (!target) return 1;
  const auto resource = read_location_source(invocation);
  if (!resource) return 1;
  const std::string path = location_api_path(group, *target);
  const ApiReply current = invocation.api->call("GET", path);
  if (current.status == 404) {
    LocationTarget parent = *target;
    parent.name.clear();
    const ApiReply reply = invocation.api->call(
        "POST", location_api_path(group, parent) + "?" + group.id_parameter + "=" + target->name,
        boost::json::value(*resource));
    if (auto failed = await_operation(invocation, group, reply)) return *failed;
    std::cerr << "Created " << group.kind << " [" << target->name << "].\n";
    return 0;
  }
  if (!current.ok()) return fail_location(invocation, current);
  // Every field the file may hold is in the mask: an import replaces the resource.
  const std::string mask = invocation.flag("update-mask", group.mutable_fields);
  const ApiReply reply =
      invocation.api->call("PATCH", path + "?updateMask=" + mask, boost::json::value(*resource));
  if (auto failed = await_operation(invocation, group, reply)) return *failed;
  std::cerr << "Updated " << group.kind << " [" << target->name << "].\n";
  return 0;
}

int location_export(const Invocation& invocation, const LocationGroup& group) {
  const auto target = target_of(invocation, group);
  if (!target) return 1;
  const ApiReply reply = invocation.api->call("GET", location_api_path(group, *target));
  if (!reply.ok()) return fail_location(invocation, reply);
  boost::json::object resource = reply.body.as_object();
  for (const char* field : {"createTime", "updateTime", "etag"}) resource.erase(field);
  const std::string yaml = to_yaml(resource);
  const std::string destination = invocation.flag("destination", "-");
  if (destination == "-") {
    std::cout << yaml;
    return 0;
  }
  std::ofstream file(destination, std::ios::binary | std::ios::trunc);
  if (!(file << yaml)) return fail(invocation, "Unable to write file [" + destination + "]");
  std::cerr << "Exported [" << text(resource, "name") << "] to '" << destination << "'.\n";
  return 0;
}

int location_describe(const Invocation& invocation, const LocationGroup& group) {
  const auto target = target_of(invocation, group);
  if (!target) return 1;
  const ApiReply reply = invocation.api->call("GET", location_api_path(group, *target));
  if (!reply.ok()) return fail_location(invocation, reply);
  print_resource(invocation, reply.body);
  return 0;
}

int location_list(const Invocation& invocation, const LocationGroup& group) {
  const auto target = target_of(invocation, group);
  if (!target) return 1;
  const ApiReply reply = invocation.api->call("GET", location_api_path(group, *target));
  if (!reply.ok()) return fail_location(invocation, reply);
  boost::json::array items;
  if (const auto* found = reply.body.as_object().if_contains(group.collection))
    items = found->as_array();
  if (print_list_without_table(invocation, items)) return 0;
  std::vector<std::vector<std::string>> rows{{"NAME", "LOCATION", "CREATE_TIME", "UPDATE_TIME"}};
  for (const auto& item : items) {
    rows.push_back({short_name(text(item, "name")), target->location, text(item, "createTime"),
                    text(item, "updateTime")});
  }
  print_table(rows);
  return 0;
}

int location_delete(const Invocation& invocation, const LocationGroup& group) {
  const auto target = target_of(invocation, group);
  if (!target) return 1;
  const ApiReply reply = invocation.api->call("DELETE", location_api_path(group, *target));
  if (auto failed = await_operation(invocation, group, reply)) return *failed;
  std::cerr << "Deleted " << group.kind << " [" << target->name << "].\n";
  return 0;
}

}  // namespace

void add_location_commands(std::vector<CommandSpec>& commands) {
  const FlagSpec location{"location"};
  const FlagSpec async{"async", true};
  for (const LocationGroup& group : location_groups()) {
    std::vector<FlagSpec> import_flags{{"source"}, location, async};
    if (group.service == "certificatemanager") import_flags.push_back({"update-mask"});
    commands.push_back(
        {group.words + " import", true, import_flags,
         [&group](const Invocation& i) { return location_import(i, group); },
         "create or replace a " + group.kind + " from YAML (stdin without --source)"});
    commands.push_back({group.words + " export",
                        true,
                        {{"destination"}, location},
                        [&group](const Invocation& i) { return location_export(i, group); },
                        "write a " + group.kind + " as YAML (stdout without --destination)"});
    commands.push_back({group.words + " describe",
                        true,
                        {location},
                        [&group](const Invocation& i) { return location_describe(i, group); },
                        "print a " + group.kind + " (--format=json|yaml)"});
    commands.push_back({group.words + " list",
                        false,
                        {location},
                        [&group](const Invocation& i) { return location_list(i, group); },
                        "list the " + group.kind + "s of a location"});
    commands.push_back({group.words + " delete",
                        true,
                        {location, async},
                        [&group](const Invocation& i) { return location_delete(i, group); },
                        "delete a " + group.kind + " (refused while something uses it)"});
  }
}

}  // namespace albemu::cli::gcloud
