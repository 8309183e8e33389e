// Files, directories and documents -> model::Config. The per-resource parsing lives in
// *_parser.cc; this file decides what each YAML document is.

#include "config/load/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

#include "config/load/resource_parsers.h"
#include "config/load/yaml_cursor.h"

namespace albemu::config {

namespace {

using ParseInto = void (*)(const YamlCursor&, const ResourceDefaults&, model::Config&);

template <auto Parse, auto Member>
void parse_into(const YamlCursor& cursor, const ResourceDefaults& defaults, model::Config& config) {
  (config.*Member).push_back(Parse(cursor, defaults));
}

/// A resource collection: its top-level key, the `kind` exports carry, and its parser.
struct Collection {
  std::string_view key;
  std::string_view kind;
  ParseInto parse;
};

constexpr Collection kCollections[] = {
    {"networks", "compute#network", &parse_into<&parse_network, &model::Config::networks>},
    {"subnetworks", "compute#subnetwork",
     &parse_into<&parse_subnetwork, &model::Config::subnetworks>},
    {"cloudRunServices", "",
     &parse_into<&parse_cloud_run_service, &model::Config::cloud_run_services>},
    {"networkEndpointGroups", "compute#networkEndpointGroup",
     &parse_into<&parse_network_endpoint_group, &model::Config::network_endpoint_groups>},
    {"backendServices", "compute#backendService",
     &parse_into<&parse_backend_service, &model::Config::backend_services>},
    {"securityPolicies", "compute#securityPolicy",
     &parse_into<&parse_security_policy, &model::Config::security_policies>},
    {"urlMaps", "compute#urlMap", &parse_into<&parse_url_map, &model::Config::url_maps>},
    {"sslCertificates", "compute#sslCertificate",
     &parse_into<&parse_ssl_certificate, &model::Config::ssl_certificates>},
    {"sslPolicies", "compute#sslPolicy",
     &parse_into<&parse_ssl_policy, &model::Config::ssl_policies>},
    {"trustConfigs", "", &parse_into<&parse_trust_config, &model::Config::trust_configs>},
    {"serverTlsPolicies", "",
     &parse_into<&parse_server_tls_policy, &model::Config::server_tls_policies>},
    {"targetHttpProxies", "compute#targetHttpProxy",
     &parse_into<&parse_target_http_proxy, &model::Config::target_http_proxies>},
    {"targetHttpsProxies", "compute#targetHttpsProxy",
     &parse_into<&parse_target_https_proxy, &model::Config::target_https_proxies>},
    {"forwardingRules", "compute#forwardingRule",
     &parse_into<&parse_forwarding_rule, &model::Config::forwarding_rules>},
};

const Collection* collection_by_key(std::string_view key) {
  for (const Collection& collection : kCollections) {
    if (collection.key == key) return &collection;
  }
  return nullptr;
}

const Collection* collection_by_kind(std::string_view kind) {
  for (const Collection& collection : kCollections) {
    if (!collection.kind.empty() && collection.kind == kind) return &collection;
  }
  return nullptr;
}

std::string last_segment(const std::string& text) {
  size_t slash = text.rfind('/');
  return slash == std::string::npos ? text : text.substr(slash + 1);
}

/// One YAML document of one file, and what it holds.
struct Document {
  std::shared_ptr<const LoadContext> context;
  YamlRef root;
  const Collection* single = nullptr;  // a single exported resource of this collection
};

/// The collection a file's parent folder names (`urlMaps/x.yaml`), if any.
const Collection* collection_of_folder(std::string_view file_name) {
  std::filesystem::path parent = std::filesystem::path(file_name).parent_path().filename();
  return collection_by_key(parent.string());
}

/// Parses the text into documents and classifies each one; syntax errors go to `errors`.
void read_documents(std::string_view yaml, std::string_view file_name, ConfigErrors& errors,
                    std::vector<Document>& documents) {
  auto context = std::make_shared<LoadContext>();
  context->file = std::string(file_name);
  context->base_dir = std::filesystem::path(file_name).parent_path().string();
  context->errors = &errors;
  auto parsed = parse_yaml(yaml);
  if (const auto* error = std::get_if<YamlSyntaxError>(&parsed)) {
    errors.push_back(ConfigError{context->file, "",
                                 "YAML syntax error at line " + std::to_string(error->line) +
                                     ", column " + std::to_string(error->column) + ": " +
                                     error->message});
    return;
  }
  const std::vector<YamlRef>& roots = std::get<std::vector<YamlRef>>(parsed);
  if (!roots.empty()) context->document = roots.front();  // all of them share one arena
  const bool has_document =
      std::any_of(roots.begin(), roots.end(), [](const YamlRef& root) { return !root->is_null(); });
  if (!has_document) {
    // An editor or a copy caught halfway leaves an empty file; loading it as "no resources"
    // would close every listener on reload.
    errors.push_back(ConfigError{context->file, "", "the file holds no resources (it is empty)"});
    return;
  }
  const Collection* folder = collection_of_folder(file_name);
  for (size_t i = 0; i < roots.size(); ++i) {
    const YamlRef& root = roots[i];
    if (root->is_null()) continue;  // an empty document
    std::string where = roots.size() > 1 ? "document " + std::to_string(i + 1) : "";
    if (!root->is_map()) {
      errors.push_back(ConfigError{context->file, where, "expected a mapping at the top level"});
      continue;
    }
    Document document{context, root, nullptr};
    YamlCursor top(root.get(), "", context.get());
    if (std::optional<std::string> kind = top.field("kind").as_string()) {
      document.single = collection_by_kind(*kind);
      if (document.single == nullptr) {
        top.field("kind").error("unknown resource kind '" + *kind + "'");
        continue;
      }
    } else if (folder != nullptr && top.field("name").present()) {
      document.single = folder;
    }
    documents.push_back(std::move(document));
  }
}

/// Config-wide defaults: the first `project` / `region` any collection document declares.
void take_config_defaults(const std::vector<Document>& documents, model::Config& config) {
  bool have_project = false;
  bool have_region = false;
  for (const Document& document : documents) {
    if (document.single != nullptr) continue;
    YamlCursor top(document.root.get(), "", document.context.get());
    // Type errors are reported once, by parse_document.
    const YamlCursor project = top.field("project");
    if (!have_project && project.node().is_scalar()) {
      config.project = project.node().scalar();
      have_project = true;
    }
    const YamlCursor region = top.field("region");
    if (!have_region && region.node().is_scalar()) {
      config.region = last_segment(region.node().scalar());
      have_region = true;
    }
  }
}

void parse_document(const Document& document, model::Config& config) {
  YamlCursor top(document.root.get(), "", document.context.get());
  ResourceDefaults defaults{config.project, config.region};
  if (document.single != nullptr) {
    YamlCursor resource = top.renamed(item_path(document.single->key, *document.root, 0));
    document.single->parse(resource, defaults, config);
    return;
  }
  YamlCursor project = top.field("project");
  YamlCursor region = top.field("region");
  if (project.present()) defaults.project = project.as_string().value_or(defaults.project);
  if (region.present())
    defaults.region = last_segment(region.as_string().value_or(defaults.region));
  std::set<std::string> seen;
  for (const YamlNode::Pair& pair : document.root->pairs()) {
    std::string key = pair.key->is_scalar() ? pair.key->scalar() : std::string("?");
    YamlCursor section(pair.value, key, document.context.get());
    if (!seen.insert(key).second) {
      section.error("top-level key '" + key + "' appears more than once");
      continue;
    }
    if (key == "project" || key == "region") continue;
    const Collection* collection = collection_by_key(key);
    if (collection == nullptr) {
      section.error("unknown top-level key '" + key + "'");
      continue;
    }
    std::vector<YamlCursor> items = section.items();
    for (size_t i = 0; i < items.size(); ++i) {
      YamlCursor resource = items[i].renamed(item_path(key, items[i].node(), i));
      collection->parse(resource, defaults, config);
    }
  }
}

LoadResult load_documents(const std::vector<std::pair<std::string, std::string>>& files,
                          ConfigErrors errors) {
  LoadResult result;
  result.errors = std::move(errors);
  std::vector<Document> documents;
  for (const auto& [name, text] : files) {
    read_documents(text, name, result.errors, documents);
  }
  take_config_defaults(documents, result.config);
  for (const Document& document : documents) parse_document(document, result.config);
  ConfigErrors cross = validate_config(result.config);
  result.errors.insert(result.errors.end(), std::make_move_iterator(cross.begin()),
                       std::make_move_iterator(cross.end()));
  return result;
}

bool is_yaml_file(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml";
}

}  // namespace

LoadResult load_config_files(const std::vector<std::string>& paths) {
  ConfigErrors errors;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::string> found;
      std::filesystem::recursive_directory_iterator it(path, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec) && is_yaml_file(it->path()))
          found.push_back(it->path().string());
      }
      if (ec) {
        errors.push_back(ConfigError{path, "", "cannot list directory: " + ec.message()});
        continue;
      }
      if (found.empty()) {
        errors.push_back(ConfigError{path, "", "no *.yaml or *.yml files in this directory"});
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(path, ec)) {
      files.push_back(path);
    } else {
      errors.push_back(ConfigError{path, "", "no such file or directory"});
    }
  }
  std::vector<std::pair<std::string, std::string>> contents;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      errors.push_back(ConfigError{file, "", "cannot read file"});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    contents.emplace_back(file, text.str());
  }
  return load_documents(contents, std::move(errors));
}

LoadResult load_config_text(std::string_view yaml, std::string_view file_name) {
  return load_documents({{std::string(file_name), std::string(yaml)}}, {});
}

}  // namespace albemu::config
