#pragma once
// Host-rule lookup: exact hosts in a hash map, `*` wildcards in a hash map keyed by the
// suffix after the `*`, so a lookup costs a handful of probes whatever the number of rules.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace albemu::core {

/// The host and port of a Host header (`example.com:8080`, `[::1]:80`). `port` is empty
/// when the header carries none.
struct HostAndPort {
  std::string_view host;
  std::string_view port;
};

/// Splits a Host header value into host and port. An IPv6 literal keeps its brackets.
HostAndPort split_host_port(std::string_view host_header);

/// Maps host patterns (as written in `hostRules[].hosts`) to a value index. Built once at
/// compile time; find() is const, allocation-free for hosts up to 255 characters and safe
/// to call from any thread.
class HostMatcher {
 public:
  /// Adds a pattern: `host`, `host:port`, `*suffix`, `*suffix:port` or `*`. Returns false if
  /// the same pattern (after lower-casing) was already added; the first one is kept.
  bool add(std::string_view pattern, uint32_t index);

  /// The index of the best pattern for `host_header` (GCP order: exact host, then the
  /// longest `*` wildcard, then `*`; an entry with a port only matches that port, which comes
  /// from the Host header or else `listener_port`). Empty if nothing matches.
  std::optional<uint32_t> find(std::string_view host_header, uint16_t listener_port) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;

  Table exact_;     // "host" and "host:port"
  Table wildcard_;  // suffix after `*` ("" for a bare `*`), optionally with ":port"
  bool has_wildcard_with_port_ = false;
  bool has_exact_with_port_ = false;
};

}  // namespace albemu::core
