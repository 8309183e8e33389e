// Helpers every resource parser uses.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"

namespace albemu::config {

namespace {

// Output-only or informational fields `gcloud ... export` / `describe` write. They never
// change behaviour, so they are accepted on every resource.
const std::vector<std::string_view> kOutputOnlyFields = {
    "id",
    "kind",
    "selfLink",
    "selfLinkWithId",
    "creationTimestamp",
    "fingerprint",
    "labelFingerprint",
    "labels",
    "status",
    "pscData",
    "gatewayAddress",
    "usedBy",
    "warnings",
    "enabledFeatures",
    "expireTime",
    "subjectAlternativeNames",
    "size",
    "state",
};

std::string last_segment(const std::string& text) {
  size_t slash = text.rfind('/');
  return slash == std::string::npos ? text : text.substr(slash + 1);
}

}  // namespace

void read_resource_header(const YamlCursor& resource, FieldReader& reader,
                          const ResourceDefaults& defaults, model::Resource& header,
                          bool regional) {
  header.origin.file = resource.context().file;
  reader.ignore(kOutputOnlyFields);
  YamlCursor name_field = reader.take("name");
  header.name = reader.required_string("name");
  if (!header.name.empty()) {
    std::string problem = check_resource_name(header.name);
    if (!problem.empty()) name_field.error(problem);
  }
  YamlCursor description = reader.take("description");
  header.description = description.as_string().value_or("");
  check_length(description, header.description, 0, 1024);
  header.project = reader.optional_string("project").value_or(defaults.project);
  if (header.project.empty()) reader.cursor().field("project").error("is required");
  if (regional) {
    header.region = last_segment(reader.optional_string("region").value_or(defaults.region));
    if (header.region.empty()) reader.cursor().field("region").error("is required");
  } else {
    reader.ignore({"region"});
  }
}

model::ResourceRef complete_reference(model::ResourceRef ref, const model::Resource& owner,
                                      bool global) {
  if (ref.empty()) return ref;
  const bool written_global = ref.text.find("global/") != std::string::npos;
  if (ref.project.empty()) ref.project = owner.project;
  if (ref.region.empty() && !global && !written_global) ref.region = owner.region;
  return ref;
}

std::optional<std::string> read_config_relative_file(const YamlCursor& field,
                                                     const std::string& name,
                                                     std::string* resolved) {
  std::filesystem::path path(name);
  if (path.is_relative() && !field.context().base_dir.empty()) {
    path = std::filesystem::path(field.context().base_dir) / path;
  }
  *resolved = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    field.error("cannot read '" + path.string() + "': " + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_length(const YamlCursor& field, const std::string& value, size_t min, size_t max) {
  if (!field.present() && min == 0) return;
  if (value.size() < min || value.size() > max) {
    if (min == 0) {
      field.error("must be at most " + std::to_string(max) + " characters (got " +
                  std::to_string(value.size()) + ")");
    } else {
      field.error("must be " + std::to_string(min) + "-" + std::to_string(max) +
                  " characters (got " + std::to_string(value.size()) + ")");
    }
  }
}

std::optional<std::string> optional_bounded_string(FieldReader& reader, std::string_view key,
                                                   size_t min, size_t max) {
  YamlCursor field = reader.take(key);
  std::optional<std::string> value = field.as_string();
  if (value) check_length(field, *value, min, max);
  return value;
}

}  // namespace albemu::config
