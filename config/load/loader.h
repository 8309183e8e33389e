#pragma once
// YAML -> model::Config. Called on the main thread at start and on every reload.

#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model/resources.h"

namespace albemu::config {

struct LoadResult {
  model::Config config;
  ConfigErrors errors;  // empty means the config loaded and validated

  bool ok() const { return errors.empty(); }
};

/// Loads files and directories (every *.yaml / *.yml below a directory, sorted by path),
/// merges them into one Config, then runs validate(). Each file is a collection document
/// (top-level keys `project`, `region`, `networks`, ...) or a single resource as
/// `gcloud ... export` writes it (recognised by `kind: compute#...` or by its parent folder
/// name, e.g. `urlMaps/x.yaml`).
LoadResult load_config_files(const std::vector<std::string>& paths);

/// Same as load_config_files for YAML text; `file_name` is used in messages and to resolve
/// relative `certificateFile` paths (against its directory).
LoadResult load_config_text(std::string_view yaml, std::string_view file_name);

/// Cross-resource rules (references resolve, regions agree, one serverless NEG per backend
/// service, proxy-only subnet, httpsRedirect only behind an HTTP proxy, ...). Field-level rules
/// (patterns, ranges, exclusions inside one resource) are checked while loading.
ConfigErrors validate_config(const model::Config& config);

/// Parses a reference in any of GCP's four forms. Returns an empty ref (name empty) if
/// `text` is not a reference.
model::ResourceRef parse_reference(std::string_view text);

}  // namespace albemu::config
