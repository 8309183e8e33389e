// parse_reference: GCP's resource reference forms.

#include <string>
#include <string_view>
#include <vector>

#include "config/load/field_rules.h"
#include "config/load/loader.h"

namespace albemu::config {

namespace {

std::vector<std::string_view> split_path(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) slash = text.size();
    parts.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Strips the scheme, host and API version of a full URL (`https://www.googleapis.com/
// compute/v1/`), or the `//compute.googleapis.com/` of a resource name; leaves partial
// references alone. Returns false for a URL albemu does not recognise.
bool strip_url_prefix(std::string_view& text) {
  constexpr std::string_view kSchemes[] = {"https://", "http://", "//"};
  bool had_scheme = false;
  for (std::string_view scheme : kSchemes) {
    if (text.substr(0, scheme.size()) == scheme) {
      text.remove_prefix(scheme.size());
      had_scheme = true;
      break;
    }
  }
  if (!had_scheme) return true;
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view host = text.substr(0, slash);
  if (host != "www.googleapis.com" && host != "compute.googleapis.com") return false;
  text.remove_prefix(slash + 1);
  if (text.substr(0, 8) == "compute/") {
    text.remove_prefix(8);
    size_t version_end = text.find('/');
    if (version_end == std::string_view::npos) return false;
    std::string_view version = text.substr(0, version_end);
    if (version != "v1" && version != "beta" && version != "alpha") return false;
    text.remove_prefix(version_end + 1);
  }
  return true;
}

}  // namespace

model::ResourceRef parse_reference(std::string_view text) {
  model::ResourceRef ref;
  std::string_view rest = text;
  if (!strip_url_prefix(rest)) return ref;
  std::vector<std::string_view> parts = split_path(rest);

  std::string_view project;
  if (parts.size() >= 2 && parts[0] == "projects") {
    project = parts[1];
    parts.erase(parts.begin(), parts.begin() + 2);
    if (project.empty()) return ref;
  }
  std::string_view region;
  if (parts.size() >= 2 && parts[0] == "regions") {
    region = parts[1];
    parts.erase(parts.begin(), parts.begin() + 2);
    if (region.empty()) return ref;
  } else if (!parts.empty() && parts[0] == "global") {
    parts.erase(parts.begin());
  } else if (!project.empty() || rest.size() != text.size()) {
    return ref;  // a project or URL must be followed by regions/R or global
  }

  std::string_view collection;
  std::string_view name;
  if (parts.size() == 2) {
    collection = parts[0];
    name = parts[1];
    if (collection.empty()) return ref;
  } else if (parts.size() == 1 && project.empty() && region.empty() && rest.size() == text.size() &&
             text.find('/') == std::string_view::npos) {
    name = parts[0];
  } else {
    return ref;
  }
  if (!is_valid_resource_name(name)) return ref;

  ref.text = std::string(text);
  ref.project = std::string(project);
  ref.region = std::string(region);
  ref.collection = std::string(collection);
  ref.name = std::string(name);
  return ref;
}

}  // namespace albemu::config
