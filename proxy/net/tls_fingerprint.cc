#include "proxy/net/tls_fingerprint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace albemu::net {

namespace {

constexpr uint8_t kClientHelloType = 1;
constexpr uint16_t kExtensionServerName = 0x0000;
constexpr uint16_t kExtensionSupportedGroups = 0x000a;
constexpr uint16_t kExtensionEcPointFormats = 0x000b;
constexpr uint16_t kExtensionSignatureAlgorithms = 0x000d;
constexpr uint16_t kExtensionAlpn = 0x0010;
constexpr uint16_t kExtensionSupportedVersions = 0x002b;
/// What JA4 prints for a hash of nothing: it tells "no values" apart from a hash.
constexpr std::string_view kJa4NoValues = "000000000000";
constexpr char kLowerHexDigits[] = "0123456789abcdef";

/// Big-endian reads over a ClientHello; a read past the end fails the whole parse.
class HelloReader {
 public:
  explicit HelloReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool empty() const { return bytes_.empty(); }
  bool u8(uint8_t& out) {
    if (bytes_.empty()) return false;
    out = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return true;
  }
  bool u16(uint16_t& out) {
    if (bytes_.size() < 2) return false;
    out = static_cast<uint16_t>(bytes_[0] << 8 | bytes_[1]);
    bytes_ = bytes_.subspan(2);
    return true;
  }
  bool skip(std::size_t n) {
    if (bytes_.size() < n) return false;
    bytes_ = bytes_.subspan(n);
    return true;
  }
  /// A length-prefixed block (a length of `length_bytes` bytes) as a reader of its own.
  bool block(std::size_t length_bytes, HelloReader& out) {
    std::size_t length = 0;
    for (std::size_t i = 0; i < length_bytes; ++i) {
      uint8_t byte = 0;
      if (!u8(byte)) return false;
      length = length << 8 | byte;
    }
    if (bytes_.size() < length) return false;
    out = HelloReader(bytes_.first(length));
    bytes_ = bytes_.subspan(length);
    return true;
  }
  /// The rest as 16-bit values; fails on an odd byte.
  bool u16_list(std::vector<uint16_t>& out) {
    if (bytes_.size() % 2 != 0) return false;
    out.reserve(bytes_.size() / 2);
    uint16_t value = 0;
    while (u16(value)) out.push_back(value);
    return true;
  }
  std::span<const uint8_t> rest() const { return bytes_; }

 private:
  std::span<const uint8_t> bytes_;
};

/// The data of one extension into `hello`, for the extensions the fingerprints read.
bool read_extension(uint16_t type, HelloReader data, ClientHello& hello) {
  HelloReader list(std::span<const uint8_t>{});
  switch (type) {
    case kExtensionSupportedGroups:
      return data.block(2, list) && list.u16_list(hello.supported_groups);
    case kExtensionEcPointFormats:
      if (!data.block(1, list)) return false;
      hello.ec_point_formats.assign(list.rest().begin(), list.rest().end());
      return true;
    case kExtensionSignatureAlgorithms:
      return data.block(2, list) && list.u16_list(hello.signature_algorithms);
    case kExtensionSupportedVersions:
      return data.block(1, list) && list.u16_list(hello.supported_versions);
    case kExtensionAlpn: {
      HelloReader first(std::span<const uint8_t>{});
      if (!data.block(2, list)) return false;
      if (list.empty()) return true;
      if (!list.block(1, first)) return false;
      hello.first_alpn.assign(first.rest().begin(), first.rest().end());
      return true;
    }
    default:
      return true;
  }
}

std::string hex_of(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    out += kLowerHexDigits[data[i] >> 4];
    out += kLowerHexDigits[data[i] & 0xf];
  }
  return out;
}

/// `text`'s digest by `md` (MD5, SHA-256) in lower-case hex.
std::string digest_hex(const EVP_MD* md, std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, md, nullptr) != 1) return {};
  return hex_of(digest, size);
}

void append_hex4(std::string& out, uint16_t value) {
  out += kLowerHexDigits[value >> 12];
  out += kLowerHexDigits[(value >> 8) & 0xf];
  out += kLowerHexDigits[(value >> 4) & 0xf];
  out += kLowerHexDigits[value & 0xf];
}

/// `values` without GREASE, in decimal joined with '-' (JA3's form of a list).
template <typename T>
void append_ja3_list(std::string& out, const std::vector<T>& values) {
  bool first = true;
  for (const T value : values) {
    if (is_grease(value)) continue;
    if (!first) out += '-';
    out += std::to_string(value);
    first = false;
  }
}

std::vector<uint16_t> without_grease(const std::vector<uint16_t>& values) {
  std::vector<uint16_t> out;
  out.reserve(values.size());
  for (const uint16_t value : values) {
    if (!is_grease(value)) out.push_back(value);
  }
  return out;
}

/// `values` as 4-digit lower-case hex joined with ',' (JA4's form of a list).
std::string ja4_list(const std::vector<uint16_t>& values) {
  std::string out;
  out.reserve(values.size() * 5);
  for (const uint16_t value : values) {
    if (!out.empty()) out += ',';
    append_hex4(out, value);
  }
  return out;
}

/// JA4's two characters for a TLS version; "00" for one it does not name.
std::string_view ja4_version(uint16_t version) {
  switch (version) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
      return "s2";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

bool is_ascii_alphanumeric(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/// The first and last characters of the first ALPN protocol; "00" without one. A protocol
/// that starts or ends with a byte that is no ASCII letter or digit gives the first and last
/// digits of its hex form instead (0x30 0xAB -> "3b").
std::string ja4_alpn(std::string_view protocol) {
  if (protocol.empty()) return "00";
  const auto first = static_cast<uint8_t>(protocol.front());
  const auto last = static_cast<uint8_t>(protocol.back());
  if (is_ascii_alphanumeric(first) && is_ascii_alphanumeric(last)) {
    return {static_cast<char>(first), static_cast<char>(last)};
  }
  return {kLowerHexDigits[first >> 4], kLowerHexDigits[last & 0xf]};
}

/// JA4's three parts before hashing: `t13d1516h2`, the sorted ciphers, and the sorted
/// extensions (SNI and ALPN left out) with `_` and the signature algorithms when there are any.
struct Ja4Parts {
  std::string prefix;
  std::string ciphers;
  std::string extensions;
};

Ja4Parts ja4_parts(const ClientHello& hello) {
  std::vector<uint16_t> ciphers = without_grease(hello.cipher_suites);
  std::vector<uint16_t> extensions = without_grease(hello.extensions);
  const auto has = [&](uint16_t type) {
    return std::find(extensions.begin(), extensions.end(), type) != extensions.end();
  };

  // The highest supported_versions entry, else the ClientHello's own version.
  uint16_t version = hello.legacy_version;
  if (has(kExtensionSupportedVersions)) {
    const std::vector<uint16_t> versions = without_grease(hello.supported_versions);
    if (!versions.empty()) version = *std::max_element(versions.begin(), versions.end());
  }
  char counts[8];
  std::snprintf(counts, sizeof counts, "%02zu%02zu", std::min<std::size_t>(ciphers.size(), 99),
                std::min<std::size_t>(extensions.size(), 99));

  Ja4Parts parts;
  parts.prefix = "t";
  parts.prefix += ja4_version(version);
  parts.prefix += has(kExtensionServerName) ? 'd' : 'i';
  parts.prefix += counts;
  parts.prefix += ja4_alpn(has(kExtensionAlpn) ? hello.first_alpn : std::string());

  std::sort(ciphers.begin(), ciphers.end());
  parts.ciphers = ja4_list(ciphers);
  std::erase_if(extensions, [](uint16_t type) {
    return type == kExtensionServerName || type == kExtensionAlpn;
  });
  std::sort(extensions.begin(), extensions.end());
  parts.extensions = ja4_list(extensions);
  if (has(kExtensionSignatureAlgorithms)) {
    const std::string algorithms = ja4_list(without_grease(hello.signature_algorithms));
    if (!algorithms.empty()) parts.extensions += '_' + algorithms;
  }
  return parts;
}

std::string ja4_hash(std::string_view list) {
  if (list.empty()) return std::string(kJa4NoValues);
  return digest_hex(EVP_sha256(), list).substr(0, kJa4NoValues.size());
}

}  // namespace

bool is_grease(uint16_t value) {
  return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
}

std::optional<ClientHello> parse_client_hello(std::span<const uint8_t> message) {
  HelloReader header(message);
  uint8_t type = 0;
  HelloReader body(std::span<const uint8_t>{});
  if (!header.u8(type) || type != kClientHelloType || !header.block(3, body)) {
    return std::nullopt;
  }
  ClientHello hello;
  HelloReader session_id(std::span<const uint8_t>{});
  HelloReader ciphers(std::span<const uint8_t>{});
  HelloReader compression(std::span<const uint8_t>{});
  if (!body.u16(hello.legacy_version) || !body.skip(32) || !body.block(1, session_id) ||
      !body.block(2, ciphers) || !ciphers.u16_list(hello.cipher_suites) ||
      !body.block(1, compression)) {
    return std::nullopt;
  }
  if (body.empty()) return hello;  // no extensions (SSL 3.0, old TLS 1.0 clients)
  HelloReader extensions(std::span<const uint8_t>{});
  if (!body.block(2, extensions)) return std::nullopt;
  while (!extensions.empty()) {
    uint16_t extension_type = 0;
    HelloReader data(std::span<const uint8_t>{});
    if (!extensions.u16(extension_type) || !extensions.block(2, data)) return std::nullopt;
    hello.extensions.push_back(extension_type);
    if (!read_extension(extension_type, data, hello)) return std::nullopt;
  }
  return hello;
}

std::string ja3_text(const ClientHello& hello) {
  std::string out = std::to_string(hello.legacy_version);
  out += ',';
  append_ja3_list(out, hello.cipher_suites);
  out += ',';
  append_ja3_list(out, hello.extensions);
  out += ',';
  append_ja3_list(out, hello.supported_groups);
  out += ',';
  append_ja3_list(out, hello.ec_point_formats);
  return out;
}

std::string ja3_fingerprint(const ClientHello& hello) {
  return digest_hex(EVP_md5(), ja3_text(hello));
}

std::string ja4_raw(const ClientHello& hello) {
  const Ja4Parts parts = ja4_parts(hello);
  return parts.prefix + '_' + parts.ciphers + '_' + parts.extensions;
}

std::string ja4_fingerprint(const ClientHello& hello) {
  const Ja4Parts parts = ja4_parts(hello);
  return parts.prefix + '_' + ja4_hash(parts.ciphers) + '_' + ja4_hash(parts.extensions);
}

TlsFingerprints fingerprints_of(std::span<const uint8_t> message) {
  const std::optional<ClientHello> hello = parse_client_hello(message);
  if (!hello) return {};
  return {ja3_fingerprint(*hello), ja4_fingerprint(*hello)};
}

}  // namespace albemu::net
