#include "proxy/core/host_matcher.h"

#include <array>
#include <charconv>

#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

// The characters GCP lets a `*` stand for: [a-z0-9-.] (the host is already lower-cased).
bool is_wildcard_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

}  // namespace

HostAndPort split_host_port(std::string_view host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    if (close == std::string_view::npos) return {host_header, {}};
    std::string_view rest = host_header.substr(close + 1);
    if (rest.size() > 1 && rest.front() == ':')
      return {host_header.substr(0, close + 1), rest.substr(1)};
    return {host_header.substr(0, close + 1), {}};
  }
  const size_t colon = host_header.rfind(':');
  if (colon == std::string_view::npos || host_header.find(':') != colon) return {host_header, {}};
  return {host_header.substr(0, colon), host_header.substr(colon + 1)};
}

bool HostMatcher::add(std::string_view pattern, uint32_t index) {
  const std::string key = ascii_lowered(pattern);
  if (!key.empty() && key.front() == '*') {
    const bool with_port = split_host_port(key).port.size() > 0;
    has_wildcard_with_port_ = has_wildcard_with_port_ || with_port;
    return wildcard_.emplace(key.substr(1), index).second;
  }
  has_exact_with_port_ = has_exact_with_port_ || !split_host_port(key).port.empty();
  return exact_.emplace(key, index).second;
}

std::optional<uint32_t> HostMatcher::find(std::string_view host_header,
                                          uint16_t listener_port) const {
  const HostAndPort parts = split_host_port(host_header);
  std::array<char, 6> port_digits{};
  std::string_view port = parts.port;
  if (port.empty()) {
    auto [end, ec] =
        std::to_chars(port_digits.data(), port_digits.data() + port_digits.size(), listener_port);
    port = std::string_view(port_digits.data(), ec == std::errc() ? end - port_digits.data() : 0);
  }

  // "host:port" lower-cased in one buffer: every candidate key is a tail of it, with or
  // without the ":port" part, so no lookup allocates.
  std::array<char, 300> stack_buffer;
  std::string heap_buffer;
  const size_t host_len = parts.host.size();
  const size_t key_len = host_len + 1 + port.size();
  char* buffer = stack_buffer.data();
  if (key_len > stack_buffer.size()) {
    heap_buffer.resize(key_len);
    buffer = heap_buffer.data();
  }
  for (size_t i = 0; i < host_len; ++i) buffer[i] = ascii_lower(parts.host[i]);
  buffer[host_len] = ':';
  for (size_t i = 0; i < port.size(); ++i) buffer[host_len + 1 + i] = port[i];

  auto lookup = [&](const Table& table, size_t start, bool ports) -> const uint32_t* {
    if (ports) {
      auto it = table.find(std::string_view(buffer + start, key_len - start));
      if (it != table.end()) return &it->second;
    }
    auto it = table.find(std::string_view(buffer + start, host_len - start));
    return it == table.end() ? nullptr : &it->second;
  };

  if (const uint32_t* hit = lookup(exact_, 0, has_exact_with_port_)) return *hit;
  if (!wildcard_.empty()) {
    // Suffixes after a `*` start with '.' or '-'; the leftmost candidate is the longest.
    for (size_t i = 0; i < host_len; ++i) {
      const char c = buffer[i];
      if (c == '.' || c == '-') {
        if (const uint32_t* hit = lookup(wildcard_, i, has_wildcard_with_port_)) return *hit;
      }
      if (!is_wildcard_char(c)) break;  // `*` cannot stand for this character
    }
    if (const uint32_t* hit = lookup(wildcard_, host_len, has_wildcard_with_port_)) {
      return *hit;  // a bare `*` (possibly limited to a port)
    }
  }
  return std::nullopt;
}

}  // namespace albemu::core
