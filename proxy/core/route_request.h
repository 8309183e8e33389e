#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/core/ascii.h"

namespace albemu::core {

struct HeaderView {
  std::string_view name;
  std::string_view value;
  bool operator==(const HeaderView&) const = default;
};

/// The first header named `name` (ASCII case-insensitive) of `headers`; null if absent.
inline const HeaderView* find_header(std::span<const HeaderView> headers, std::string_view name) {
  for (const HeaderView& header : headers) {
    if (iequals_ascii(header.name, name)) return &header;
  }
  return nullptr;
}

/// The parts of a client request that routing reads. Views into the caller's request;
/// valid only for the duration of the call that receives it.
struct RouteRequest {
  std::string_view method = "GET";
  std::string_view scheme = "http";     // "http" or "https": what the client used
  std::string_view host;                // Host header as sent, may carry ":port"
  std::string_view target = "/";        // request-target: path, optional "?query"
  uint16_t listener_port = 80;          // the forwarding rule's port (used when Host has none)
  std::span<const HeaderView> headers;  // all request headers, names in any case
};

}  // namespace albemu::core
