#include "proxy/net/tls_fingerprint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/proxy/net/tls_fingerprint_vectors.h"

namespace albemu::net {
namespace {

std::vector<uint8_t> bytes_of_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

/// A ClientHello with one cipher suite (TLS_AES_128_GCM_SHA256) and one extension.
std::vector<uint8_t> message_with_extension(std::vector<uint8_t> type, std::vector<uint8_t> data) {
  std::vector<uint8_t> body = {0x03, 0x03};
  body.resize(body.size() + 32);  // random
  body.insert(body.end(),
              {0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00});  // session, ciphers, compression
  const std::size_t extension_size = 4 + data.size();
  body.insert(body.end(), {static_cast<uint8_t>(extension_size >> 8),
                           static_cast<uint8_t>(extension_size & 0xff)});
  body.insert(body.end(), type.begin(), type.end());
  body.insert(body.end(),
              {static_cast<uint8_t>(data.size() >> 8), static_cast<uint8_t>(data.size() & 0xff)});
  body.insert(body.end(), data.begin(), data.end());
  std::vector<uint8_t> message = {0x01, 0x00, static_cast<uint8_t>(body.size() >> 8),
                                  static_cast<uint8_t>(body.size() & 0xff)};
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

/// The example of FoxIO's specification (technical_details/JA4.md): a Chrome ClientHello.
ClientHello specification_example() {
  ClientHello hello;
  hello.legacy_version = 0x0303;
  hello.cipher_suites = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                         0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  hello.extensions = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                      0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015};
  hello.signature_algorithms = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  hello.supported_versions = {0x0304, 0x0303};
  hello.first_alpn = "h2";
  return hello;
}

TEST(TlsFingerprint, PublishedClientHellos) {
  for (const auto& vector : test::kPublishedClientHellos) {
    SCOPED_TRACE(std::string(vector.source) + ": " + std::string(vector.client));
    const std::vector<uint8_t> message = bytes_of_hex(vector.message_hex);
    const std::optional<ClientHello> hello = parse_client_hello(message);
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(ja3_text(*hello), vector.ja3_text);
    EXPECT_EQ(ja3_fingerprint(*hello), vector.ja3);
    EXPECT_EQ(ja4_fingerprint(*hello), vector.ja4);
  }
}

TEST(TlsFingerprint, Ja3ReadmeExamples) {
  // github.com/salesforce/ja3, README "How it works".
  ClientHello hello;
  hello.legacy_version = 769;
  hello.cipher_suites = {47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4};
  hello.extensions = {0, 10, 11};
  hello.supported_groups = {23, 24, 25};
  hello.ec_point_formats = {0};
  EXPECT_EQ(ja3_text(hello),
            "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
  EXPECT_EQ(ja3_fingerprint(hello), "ada70206e40642a3e4461f35503241d5");

  ClientHello no_extensions;
  no_extensions.legacy_version = 769;
  no_extensions.cipher_suites = {4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99};
  EXPECT_EQ(ja3_text(no_extensions), "769,4-5-10-9-100-98-3-6-19-18-99,,,");
  EXPECT_EQ(ja3_fingerprint(no_extensions), "de350869b8c85de67a350c8d186f11e6");
}

TEST(TlsFingerprint, Ja3LeavesOutGreaseEverywhere) {
  ClientHello hello;
  hello.legacy_version = 0x0303;
  hello.cipher_suites = {0x0a0a, 0x1301, 0xfafa, 0x1302};
  hello.extensions = {0x2a2a, 0x0000, 0x000a, 0xdada};
  hello.supported_groups = {0x3a3a, 0x001d, 0x0017};
  hello.ec_point_formats = {0};
  EXPECT_EQ(ja3_text(hello), "771,4865-4866,0-10,29-23,0");
}

TEST(TlsFingerprint, Ja4SpecificationExample) {
  const ClientHello hello = specification_example();
  EXPECT_EQ(ja4_fingerprint(hello), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  EXPECT_EQ(ja4_raw(hello),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,"
            "cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,"
            "0804,0401,0503,0805,0501,0806,0601");
}

TEST(TlsFingerprint, Ja4WithoutSignatureAlgorithmsHasNoUnderscore) {
  // The specification: the extension list alone hashes to 6d807ffa2a79.
  ClientHello hello = specification_example();
  hello.signature_algorithms.clear();
  EXPECT_EQ(ja4_fingerprint(hello), "t13d1516h2_8daaf6152771_6d807ffa2a79");
  EXPECT_TRUE(ja4_raw(hello).ends_with("4469,ff01"));
}

TEST(TlsFingerprint, Ja4IgnoresGreaseInCountsListsAndVersions) {
  ClientHello hello = specification_example();
  hello.cipher_suites.insert(hello.cipher_suites.begin(), 0x3a3a);
  hello.extensions.insert(hello.extensions.begin(), 0x0a0a);
  hello.extensions.push_back(0xfafa);
  hello.signature_algorithms.insert(hello.signature_algorithms.begin(), 0x5a5a);
  hello.supported_versions.insert(hello.supported_versions.begin(), 0x7a7a);
  EXPECT_EQ(ja4_fingerprint(hello), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

TEST(TlsFingerprint, Ja4CountsSniAndAlpnButHashesWithoutThem) {
  ClientHello hello = specification_example();
  std::erase(hello.extensions, 0x0000);
  std::erase(hello.extensions, 0x0010);
  // No SNI: "i"; no ALPN: "00"; two extensions fewer; the extension hash is unchanged.
  EXPECT_EQ(ja4_fingerprint(hello), "t13i151400_8daaf6152771_e5627efa2ab1");
}

TEST(TlsFingerprint, Ja4Version) {
  ClientHello hello = specification_example();
  std::erase(hello.extensions, 0x002b);  // without supported_versions: the legacy version
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 3), "t12");
  hello.legacy_version = 0x0301;
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 3), "t10");
  hello.legacy_version = 0x0300;
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 3), "ts3");
  hello.legacy_version = 0x0305;
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 3), "t00");

  hello = specification_example();
  hello.supported_versions = {0x0302, 0x0303, 0x0301};  // the highest, in any order
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 3), "t12");
}

TEST(TlsFingerprint, Ja4CountsStopAt99) {
  ClientHello hello = specification_example();
  for (uint16_t i = 0; i < 120; ++i) hello.cipher_suites.push_back(0x0100 + i);
  for (uint16_t i = 0; i < 100; ++i) hello.extensions.push_back(0x1000 + i);
  EXPECT_EQ(ja4_fingerprint(hello).substr(0, 10), "t13d9999h2");
}

TEST(TlsFingerprint, Ja4NothingHashesToZeros) {
  ClientHello hello;
  hello.legacy_version = 0x0303;
  EXPECT_EQ(ja4_fingerprint(hello), "t12i000000_000000000000_000000000000");
  hello.extensions = {0x0000, 0x0010};  // SNI and ALPN alone leave the hashed list empty
  EXPECT_EQ(ja4_fingerprint(hello), "t12d000200_000000000000_000000000000");
}

TEST(TlsFingerprint, Ja4AlpnCharacters) {
  // The examples of the specification's "ALPN Extension Value".
  const std::pair<std::string, std::string_view> kCases[] = {
      {"h2", "h2"},
      {"http/1.1", "h1"},
      {"h", "hh"},
      {"", "00"},
      {"\xAB", "ab"},
      {"\x20", "20"},
      {"\xAB\xCD", "ad"},
      {"\x20\x61", "21"},
      {"\x30\xAB", "3b"},
      {"\x61\x20", "60"},
      {"\x30\x31\xAB\xCD", "3d"},
      {"\x30\xAB\xCD\x31", "01"},
  };
  for (const auto& [protocol, expected] : kCases) {
    ClientHello hello = specification_example();
    hello.first_alpn = protocol;
    EXPECT_EQ(ja4_fingerprint(hello).substr(8, 2), expected) << "ALPN of " << protocol.size();
  }
  ClientHello without_extension = specification_example();
  std::erase(without_extension.extensions, 0x0010);
  EXPECT_EQ(ja4_fingerprint(without_extension).substr(6, 4), "1500");
}

TEST(TlsFingerprint, Grease) {
  for (uint16_t high = 0; high < 16; ++high) {
    const auto value = static_cast<uint16_t>(high << 12 | 0x0a00 | high << 4 | 0x0a);
    EXPECT_TRUE(is_grease(value)) << value;
  }
  EXPECT_FALSE(is_grease(0x0a1a));
  EXPECT_FALSE(is_grease(0x1a0a));
  EXPECT_FALSE(is_grease(0xff85));
  EXPECT_FALSE(is_grease(0x000a));
}

TEST(TlsFingerprint, ParsesTheFieldsItReads) {
  const std::vector<uint8_t> message =
      bytes_of_hex(test::kPublishedClientHellos[1].message_hex);  // Firefox
  const std::optional<ClientHello> hello = parse_client_hello(message);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->legacy_version, 0x0303);
  EXPECT_EQ(hello->supported_groups,
            (std::vector<uint16_t>{0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101}));
  EXPECT_EQ(hello->ec_point_formats, (std::vector<uint8_t>{0}));
  EXPECT_EQ(hello->supported_versions, (std::vector<uint16_t>{0x0304, 0x0303}));
  EXPECT_EQ(hello->first_alpn, "h2");
  EXPECT_EQ(hello->extensions.size(), 15u);
}

TEST(TlsFingerprint, RefusesWhatIsNoWholeClientHello) {
  const std::vector<uint8_t> message = bytes_of_hex(test::kPublishedClientHellos[0].message_hex);
  ASSERT_TRUE(parse_client_hello(message).has_value());
  for (std::size_t size = 0; size < message.size(); ++size) {
    EXPECT_FALSE(parse_client_hello(std::span(message).first(size)).has_value()) << size;
  }
  std::vector<uint8_t> server_hello = message;
  server_hello[0] = 2;
  EXPECT_FALSE(parse_client_hello(server_hello).has_value());

  // Bytes after the message (the next one of the flight) do not matter.
  std::vector<uint8_t> followed = message;
  followed.push_back(0x14);
  EXPECT_TRUE(parse_client_hello(followed).has_value());

  // An extension whose own data does not parse: supported_groups with an odd byte count.
  EXPECT_FALSE(parse_client_hello(message_with_extension({0x00, 0x0a}, {0x00, 0x01, 0x1d})));
  const auto whole =
      parse_client_hello(message_with_extension({0x00, 0x0a}, {0x00, 0x02, 0x00, 0x1d}));
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->supported_groups, std::vector<uint16_t>{0x001d});
  EXPECT_EQ(ja3_text(*whole), "771,4865,10,29,");
}

}  // namespace
}  // namespace albemu::net
