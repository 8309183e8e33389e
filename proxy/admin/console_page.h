#pragma once
// The admin console page (proxy/admin/console.html), embedded into the binary at build time.

#include <string>
#include <string_view>

namespace albemu::admin {

/// proxy/admin/console.html's text, as built in.
std::string_view embedded_console_page();

/// `page` with every `{{NONCE}}` replaced by `nonce` (the CSP nonce of its inline script and
/// style).
std::string render_console_page(std::string_view page, std::string_view nonce);

}  // namespace albemu::admin
