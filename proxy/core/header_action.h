#pragma once
// Header actions (`headerAction` at the four URL-map levels): compiling one level, and
// folding a decision's levels into their combined effect.

#include <string_view>

#include "config/model/resources.h"
#include "proxy/core/url_map.h"

namespace albemu::core {

/// True if a header action anywhere in `url_map` (any level, request or response side) puts
/// `{variable}` into a header value. For what the handshakes must find out (the TLS
/// fingerprints); called when a snapshot is built.
bool uses_header_variable(const model::UrlMap& url_map, std::string_view variable);

/// Compiles one level's action. `replace` left unset becomes true unless the value holds a
/// `{variable}` (albemu's decision, section 0 of the spec).
CompiledHeaderAction compile_header_action(const model::HttpHeaderAction& action);

}  // namespace albemu::core
