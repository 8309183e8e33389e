#pragma once
// ASCII helpers for protocol tokens: case folding (header names, Connection options),
// optional-whitespace trimming and HTTP list elements. HTTP tokens are
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

/// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
constexpr std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// Calls `fn(element)` for each comma-separated element of an HTTP list value, trimmed of
/// optional whitespace; empty elements are skipped (RFC 9110 5.6.1).
template <class Fn>
void for_each_list_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) fn(element);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

}  // namespace albemu::core
