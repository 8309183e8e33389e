#include "config/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace albemu::config {

namespace {
constexpr std::array<std::uint8_t, 12> kV4Mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}  // namespace

bool IpAddress::is_v4() const {
  return std::equal(kV4Mapped.begin(), kV4Mapped.end(), bytes.begin());
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, &bytes[12], text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  char terminated[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof terminated) return std::nullopt;
  text.copy(terminated, text.size());
  terminated[text.size()] = '\0';
  IpAddress address;
  if (::inet_pton(AF_INET, terminated, &address.bytes[12]) == 1) {
    std::copy(kV4Mapped.begin(), kV4Mapped.end(), address.bytes.begin());
    return address;
  }
  if (::inet_pton(AF_INET6, terminated, address.bytes.data()) == 1) return address;
  return std::nullopt;
}

bool IpRange::contains(const IpAddress& address) const {
  int bits = prefix_bits;
  for (std::size_t i = 0; i < address.bytes.size() && bits > 0; ++i, bits -= 8) {
    const auto mask =
        bits >= 8 ? std::uint8_t{0xff} : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<IpRange> parse_ip_range(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = parse_ip_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  const int family_bits = address->is_v4() ? 32 : 128;
  int length = family_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length < 0 ||
        length > family_bits) {
      return std::nullopt;
    }
  }
  return IpRange{*address, address->is_v4() ? 96 + length : length};
}

}  // namespace albemu::config
