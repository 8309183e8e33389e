#include "proxy/admin/console_page.h"

namespace albemu::admin {

std::string render_console_page(std::string_view page, std::string_view nonce) {
  static constexpr std::string_view kPlaceholder = "{{NONCE}}";
  std::string out;
  out.reserve(page.size() + 64);
  while (true) {
    const std::size_t at = page.find(kPlaceholder);
    out += page.substr(0, at);
    if (at == std::string_view::npos) return out;
    out += nonce;
    page.remove_prefix(at + kPlaceholder.size());
  }
}

}  // namespace albemu::admin
