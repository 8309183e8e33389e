#pragma once

#include <string>
#include <vector>

namespace albemu::config {

/// One thing wrong with a config: the file, the field path in it
/// (`urlMaps[lb-map].pathMatchers[0].routeRules[2].priority`) and the rule broken.
struct ConfigError {
  std::string file;
  std::string field_path;
  std::string message;

  /// "FILE: FIELD_PATH: MESSAGE" (parts that are empty are left out).
  std::string to_string() const;
};

using ConfigErrors = std::vector<ConfigError>;

/// All errors, one per line.
std::string format_errors(const ConfigErrors& errors);

}  // namespace albemu::config
