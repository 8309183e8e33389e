#pragma once
// ASCII helpers for protocol tokens: case folding (header names, Connection options),
// optional-whitespace trimming, HTTP list elements and percent-decoding. HTTP tokens are
// ASCII, so these never consult a locale (std::locale lookups cost more than the comparison).

#include <string>
#include <string_view>

namespace albemu::core {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// `text` with its ASCII upper-case letters lowered.
inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

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

/// The value of a hexadecimal digit, or -1.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// What a '+' stands for: itself in a URL (RFC 3986), a space in an HTML form's
/// application/x-www-form-urlencoded body or query.
enum class PlusSign { kLiteral, kSpace };

/// `text` with its %XX escapes decoded (RFC 3986 2.1); an escape that is not one is kept as it
/// is.
inline std::string percent_decode(std::string_view text, PlusSign plus = PlusSign::kLiteral) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && plus == PlusSign::kSpace) {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit_value(text[i + 1]) >= 0 &&
               hex_digit_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit_value(text[i + 1]) * 16 + hex_digit_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace albemu::core
