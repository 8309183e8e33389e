#include "config/config_error.h"

namespace albemu::config {

std::string ConfigError::to_string() const {
  std::string out;
  for (const std::string* part : {&file, &field_path, &message}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

std::string format_errors(const ConfigErrors& errors) {
  std::string out;
  for (const ConfigError& error : errors) {
    out += error.to_string();
    out += '\n';
  }
  return out;
}

}  // namespace albemu::config
