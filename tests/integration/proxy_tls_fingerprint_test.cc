// The {tls_ja3_fingerprint} and {tls_ja4_fingerprint} variables: openssl s_client with fixed
// cipher suites, groups and signature algorithms sends the same ClientHello each time. The test
// captures it on a plain TCP listener, computes both fingerprints from those bytes with its own
// reading of JA3 and JA4 (not albemu's), and expects them in the headers the URL map adds,
// over HTTP/1.1 and HTTP/2; a plain HTTP listener expands both to "".

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <thread>

#include "tests/integration/support/proxy_harness.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {
namespace {

namespace json = boost::json;

// What the client offers: TLS 1.2 only (no supported_versions), three suites, two groups and
// three signature algorithms, in this order (the test certificates have P-256 keys).
constexpr const char* kClientOptions =
    " -servername fp.example.com -no_tls1_3"
    " -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA"
    " -groups P-256:P-384"
    " -sigalgs ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:ecdsa_secp384r1_sha384 -alpn http/1.1";
const std::vector<uint16_t> kOfferedCiphers = {0xc02b, 0xc02c, 0xc009};
const std::vector<uint16_t> kOfferedGroups = {23, 24};  // secp256r1, secp384r1
const std::vector<uint16_t> kOfferedSignatureAlgorithms = {0x0403, 0x0804, 0x0503};

/// The first TLS record a client sends to a plain TCP listener (its ClientHello), read until
/// whole; then the connection is closed, which ends the client's handshake.
class ClientHelloCatcher {
 public:
  ClientHelloCatcher() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    // A client that never comes (or stalls) fails the test instead of hanging it.
    const timeval timeout{10, 0};
    setsockopt(listener_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listener_, 1);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    reader_ = std::thread([this, timeout] {
      int connection = -1;
      do {
        connection = accept(listener_, nullptr, nullptr);
      } while (connection < 0 && errno == EINTR);
      if (connection < 0) return;
      setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      const auto whole = [this] {
        if (record_.size() < 5) return false;
        const std::size_t length = static_cast<std::size_t>(static_cast<uint8_t>(record_[3])) << 8 |
                                   static_cast<uint8_t>(record_[4]);
        return record_.size() >= 5 + length;
      };
      char buffer[4096];
      while (!whole()) {
        const ssize_t n = read(connection, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        record_.append(buffer, static_cast<std::size_t>(n));
      }
      close(connection);
    });
  }
  ~ClientHelloCatcher() {
    if (reader_.joinable()) reader_.join();
    close(listener_);
  }
  uint16_t port() const { return port_; }
  /// Waits for the reader; the ClientHello record (5-byte header first).
  std::string record() {
    reader_.join();
    return record_;
  }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread reader_;
  std::string record_;
};

/// The fields of a ClientHello record, read here without albemu's parser.
struct Hello {
  std::vector<uint16_t> ciphers;
  std::vector<uint16_t> extensions;
  std::vector<uint16_t> groups;
  std::vector<uint16_t> point_formats;
  std::vector<uint16_t> signature_algorithms;
};

Hello read_hello(const std::string& record) {
  const auto byte = [&](std::size_t i) { return static_cast<uint8_t>(record.at(i)); };
  const auto u16 = [&](std::size_t i) { return static_cast<uint16_t>(byte(i) << 8 | byte(i + 1)); };
  Hello hello;
  std::size_t p = 5 + 4 + 2 + 32;  // record header, handshake header, version, random
  p += 1 + byte(p);                // session id
  for (std::size_t end = p + 2 + u16(p), i = p + 2; i < end; i += 2)
    hello.ciphers.push_back(u16(i));
  p += 2 + u16(p);
  p += 1 + byte(p);  // compression methods
  for (std::size_t end = p + 2 + u16(p), i = p + 2; i < end; i += 4 + u16(i + 2)) {
    const uint16_t type = u16(i);
    hello.extensions.push_back(type);
    const std::size_t data = i + 4;
    if (type == 10)
      for (std::size_t j = 0; j < u16(data); j += 2) hello.groups.push_back(u16(data + 2 + j));
    if (type == 11)
      for (std::size_t j = 0; j < byte(data); ++j)
        hello.point_formats.push_back(byte(data + 1 + j));
    if (type == 13) {
      for (std::size_t j = 0; j < u16(data); j += 2)
        hello.signature_algorithms.push_back(u16(data + 2 + j));
    }
  }
  return hello;
}

std::string joined(const std::vector<uint16_t>& values, const char* format, const char* separator) {
  std::string out;
  for (const uint16_t value : values) {
    char text[8];
    std::snprintf(text, sizeof text, format, value);
    out += (out.empty() ? "" : separator) + std::string(text);
  }
  return out;
}

std::string digest_of(const EVP_MD* md, const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, md, nullptr);
  return joined(std::vector<uint16_t>(digest, digest + size), "%02x", "");
}

std::string expected_ja3(const Hello& hello) {
  return digest_of(EVP_md5(), "771," + joined(hello.ciphers, "%u", "-") + "," +
                                  joined(hello.extensions, "%u", "-") + "," +
                                  joined(hello.groups, "%u", "-") + "," +
                                  joined(hello.point_formats, "%u", "-"));
}

std::string expected_ja4(const Hello& hello) {
  std::vector<uint16_t> ciphers = hello.ciphers;
  std::sort(ciphers.begin(), ciphers.end());
  std::vector<uint16_t> extensions;
  std::copy_if(hello.extensions.begin(), hello.extensions.end(), std::back_inserter(extensions),
               [](uint16_t type) { return type != 0 && type != 16; });
  std::sort(extensions.begin(), extensions.end());
  char counts[8];
  std::snprintf(counts, sizeof counts, "%02zu%02zu", hello.ciphers.size(), hello.extensions.size());
  return std::string("t12d") + counts + "h1_" +
         digest_of(EVP_sha256(), joined(ciphers, "%04x", ",")).substr(0, 12) + "_" +
         digest_of(EVP_sha256(), joined(extensions, "%04x", ",") + "_" +
                                     joined(kOfferedSignatureAlgorithms, "%04x", ","))
             .substr(0, 12);
}

class ProxyTlsFingerprintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cert = generate_self_signed("fp.example.com", {"fp.example.com"});
    const std::string yaml = "project: it-project\nregion: us-central1\n" +
                             single_service_yaml("") + R"(    headerAction:
      requestHeadersToAdd:
        - headerName: x-ja3
          headerValue: "{tls_ja3_fingerprint}"
        - headerName: x-ja4
          headerValue: "{tls_ja4_fingerprint}"
sslCertificates:
  - name: cert
    certificate: |
)" + indent(cert.certificate_pem, "      ") +
                             "    privateKey: |\n" + indent(cert.private_key_pem, "      ") + R"(
targetHttpsProxies:
  - {name: https-proxy, urlMap: test-map, sslCertificates: [cert]}
targetHttpProxies:
  - {name: http-proxy, urlMap: test-map}
forwardingRules:
  - {name: https-rule, IPAddress: 127.0.0.1, portRange: "443", target: targetHttpsProxies/https-proxy}
  - {name: http-rule, IPAddress: 127.0.0.1, portRange: "80", target: targetHttpProxies/http-proxy}
)";
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    https_port_ = std::to_string(proxy_.port("https-rule"));
  }

  /// x-ja3 and x-ja4 as the stand-in received them; both must be there (even if empty).
  static std::pair<std::string, std::string> fingerprints_in(const std::string& body) {
    const std::size_t start = body.find('{');
    if (start == std::string::npos) return {"no body", body};
    const json::value echoed = json::parse(body.substr(start));
    const json::object& headers = echoed.as_object().at("headers").as_object();
    const auto value = [&](const char* name) -> std::string {
      const auto it = headers.find(name);
      return it == headers.end() ? "missing"
                                 : std::string(it->value().as_array().at(0).as_string());
    };
    return {value("x-ja3"), value("x-ja4")};
  }

  ProxyHarness proxy_;
  std::string https_port_;
};

TEST_F(ProxyTlsFingerprintTest, OpensslClientHelloFingerprintsReachTheBackend) {
  ClientHelloCatcher catcher;
  run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(catcher.port()) +
              kClientOptions + " </dev/null 2>&1");
  const std::string record = catcher.record();
  ASSERT_GT(record.size(), 5u);
  const Hello hello = read_hello(record);
  // The offered lists arrive as given (OpenSSL adds the renegotiation SCSV to TLS 1.2 suites).
  std::vector<uint16_t> ciphers = hello.ciphers;
  std::erase(ciphers, 0x00ff);
  EXPECT_EQ(ciphers, kOfferedCiphers);
  EXPECT_EQ(hello.groups, kOfferedGroups);
  EXPECT_EQ(hello.signature_algorithms, kOfferedSignatureAlgorithms);
  const std::string ja3 = expected_ja3(hello);
  const std::string ja4 = expected_ja4(hello);

  for (int attempt = 0; attempt < 2; ++attempt) {  // the same client, the same fingerprints
    const std::string output = run_command(
        "printf 'GET /fp HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
        "openssl s_client -connect 127.0.0.1:" +
        https_port_ + kClientOptions + " -quiet 2>/dev/null");
    ASSERT_NE(output.find("HTTP/1.1 200"), std::string::npos) << output;
    EXPECT_EQ(fingerprints_in(output), std::pair(ja3, ja4)) << output;
  }
}

TEST_F(ProxyTlsFingerprintTest, Http2CarriesTheConnectionsFingerprints) {
  // One curl, two ALPN offers: JA3 leaves ALPN's values out, JA4 shows the first one.
  const auto over = [&](const char* protocol) {
    const CurlResult result =
        run_curl({"-k", protocol, "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256",
                  "https://127.0.0.1:" + https_port_ + "/fp"});
    EXPECT_EQ(result.status, 200) << protocol << " " << result.body;
    return fingerprints_in(result.body);
  };
  const auto [ja3_h2, ja4_h2] = over("--http2");
  const auto [ja3_h1, ja4_h1] = over("--http1.1");
  EXPECT_EQ(ja3_h2.size(), 32u) << ja3_h2;
  EXPECT_EQ(ja3_h2, ja3_h1);
  ASSERT_EQ(ja4_h2.size(), 36u) << ja4_h2;
  EXPECT_EQ(ja4_h2.substr(0, 4), "t12i");  // an IP address: no SNI
  EXPECT_EQ(ja4_h2.substr(8, 2), "h2");
  EXPECT_EQ(ja4_h1.substr(8, 2), "h1");
  EXPECT_EQ(ja4_h2.substr(0, 8) + ja4_h2.substr(10), ja4_h1.substr(0, 8) + ja4_h1.substr(10));
}

TEST_F(ProxyTlsFingerprintTest, PlainHttpExpandsThemToEmpty) {
  const CurlResult result = run_curl({proxy_.url("http-rule", "/fp")});
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(fingerprints_in(result.body), std::pair(std::string(), std::string()));
}

}  // namespace
}  // namespace albemu::testing
