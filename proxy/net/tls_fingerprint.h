#pragma once
// TLS client fingerprints of a ClientHello, as GCP's {tls_ja3_fingerprint} and
// {tls_ja4_fingerprint} variables and Cloud Armor's TLS_JA3_FINGERPRINT / TLS_JA4_FINGERPRINT
// rate-limit keys carry them:
// - JA3 (Salesforce, github.com/salesforce/ja3): the MD5, in lower-case hex, of
//   `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats` in decimal, values
//   joined with '-', GREASE values left out.
// - JA4 (FoxIO, github.com/FoxIO-LLC/ja4, technical_details/JA4.md): e.g.
//   `t13d1516h2_8daaf6152771_e5627efa2ab1`.
// Pure functions of the ClientHello's bytes, so they are tested with published captures.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace albemu::net {

/// What the fingerprints read of a ClientHello, in the order the client sent it, GREASE
/// values included.
struct ClientHello {
  uint16_t legacy_version = 0;  // ClientHello.legacy_version (0x0303 for 1.2+)
  std::vector<uint16_t> cipher_suites;
  std::vector<uint16_t> extensions;            // types
  std::vector<uint16_t> supported_groups;      // extension 10 (JA3's "elliptic curves")
  std::vector<uint8_t> ec_point_formats;       // extension 11
  std::vector<uint16_t> signature_algorithms;  // extension 13
  std::vector<uint16_t> supported_versions;    // extension 43
  std::string first_alpn;                      // the first protocol of extension 16, raw bytes

  bool operator==(const ClientHello&) const = default;
};

/// Parses a ClientHello handshake message: its 4-byte header (type 1, 24-bit length) and body,
/// as OpenSSL's message callback hands it over (a TLS record's payload from its first byte).
/// Null if it is not a well-formed ClientHello (bytes after the message are ignored).
std::optional<ClientHello> parse_client_hello(std::span<const uint8_t> message);

/// True for the 16 GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa.
bool is_grease(uint16_t value);

/// JA3's text before hashing, e.g. `771,4865-4866-4867,0-23-65281,29-23-24,0`.
std::string ja3_text(const ClientHello& hello);
/// The JA3 fingerprint: 32 lower-case hex digits.
std::string ja3_fingerprint(const ClientHello& hello);

/// JA4 before hashing (JA4_r): the first part, then the sorted cipher and extension lists and
/// the signature algorithms in full, e.g. `t13d1516h2_002f,0035,..._0005,000a,..._0403,...`.
std::string ja4_raw(const ClientHello& hello);
/// The JA4 fingerprint of a ClientHello over TCP (`t`: albemu terminates no QUIC or DTLS).
std::string ja4_fingerprint(const ClientHello& hello);

/// Both fingerprints of one client connection; empty when there was no ClientHello to read.
struct TlsFingerprints {
  std::string ja3;
  std::string ja4;

  bool operator==(const TlsFingerprints&) const = default;
};

/// The fingerprints of a ClientHello message (parse_client_hello's input); empty if it does
/// not parse.
TlsFingerprints fingerprints_of(std::span<const uint8_t> message);

}  // namespace albemu::net
