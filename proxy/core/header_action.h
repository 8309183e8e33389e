#pragma once
// Header actions (`headerAction` at the four URL-map levels): compiling one level, and
// folding a decision's levels into their combined effect.

#include <string_view>

#include "config/model/resources.h"
#include "proxy/core/url_map.h"

namespace albemu::core {

/// Compiles one level's action. `replace` left unset becomes true unless the value holds a
/// `{variable}` (albemu's decision, section 0 of the spec).
CompiledHeaderAction compile_header_action(const model::HttpHeaderAction& action);

}  // namespace albemu::core
