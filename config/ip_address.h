#pragma once
// IP addresses and CIDR ranges as GCP resources and requests write them: one parser for the
// config's checks (srcIpRanges, ipCidrRange, IPAddress) and for Cloud Armor's matching.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace albemu::config {

/// An IPv4 or IPv6 address, IPv4 held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so that
/// one comparison serves both.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  bool is_v4() const;
  /// The canonical text ("10.0.0.1", "::1"): two spellings of one address give one text.
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

/// A dotted IPv4 or a textual IPv6 address (inet_pton's forms), or nothing.
std::optional<IpAddress> parse_ip_address(std::string_view text);

/// An address and a prefix length: `10.0.0.0/24`, `::1/128`, or a bare address (all its bits).
struct IpRange {
  IpAddress network;
  int prefix_bits = 128;  // over the 16-byte form: an IPv4 /24 is 96 + 24

  bool contains(const IpAddress& address) const;
};

/// A CIDR range or a single address, or nothing (a prefix longer than the family allows, or an
/// empty one, is nothing).
std::optional<IpRange> parse_ip_range(std::string_view text);

}  // namespace albemu::config
