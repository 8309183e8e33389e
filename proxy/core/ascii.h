#pragma once
// ASCII case folding for protocol tokens (header names, Connection options). HTTP tokens are
// ASCII, so these never consult a locale (std::locale lookups cost more than the comparison).

#include <string_view>

namespace albemu::core {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// Whether `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace albemu::core
