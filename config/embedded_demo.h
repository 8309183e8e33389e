#pragma once

#include <string_view>

namespace albemu::config {

/// The text of config/examples/demo.yaml, compiled into the binary.
std::string_view embedded_demo_config();

}  // namespace albemu::config
