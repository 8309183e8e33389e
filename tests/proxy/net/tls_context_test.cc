#include "proxy/net/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "tests/proxy/tls_test_support.h"

namespace albemu::net {
namespace {

/// Certificates "primary" (CN only, no SAN), "exact" (api.example.com) and "wildcard"
/// (*.example.com), loaded into one listener plan in that order.
class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add("primary", albemu::testing::generate_self_signed("primary.test", {}));
    add("wildcard",
        albemu::testing::generate_self_signed("wild", {"*.example.com", "example.org"}));
    add("exact", albemu::testing::generate_self_signed("exact", {"api.example.com"}));
  }

  void add(const std::string& name, const albemu::testing::TestCertificate& pem) {
    auto certificate = std::make_unique<model::SslCertificate>();
    certificate->name = name;
    certificate->origin.file = "certs.yaml";
    certificate->certificate = pem.certificate_pem;
    certificate->private_key = pem.private_key_pem;
    certificates_.push_back(std::move(certificate));
  }

  core::ListenerPlan plan(const model::SslPolicy* policy = nullptr) const {
    core::ListenerPlan plan;
    plan.forwarding_rule = "https-rule";
    plan.https = true;
    plan.target_proxy = "https-proxy";
    for (const auto& certificate : certificates_) plan.certificates.push_back(certificate.get());
    plan.ssl_policy = policy;
    plan.tls_fingerprints = fingerprints_;
    return plan;
  }

  std::shared_ptr<ServerTls> create(const model::SslPolicy* policy = nullptr) {
    config::ConfigErrors errors;
    auto tls = ServerTls::create(plan(policy), errors);
    EXPECT_TRUE(errors.empty()) << config::format_errors(errors);
    return tls;
  }

  std::vector<std::unique_ptr<model::SslCertificate>> certificates_;
  bool fingerprints_ = false;  // ListenerPlan::tls_fingerprints
};

struct HandshakeResult {
  bool ok = false;
  std::string served_cn;  // subject CN of the certificate the client received
  std::string alpn;
  int version = 0;
  std::string client_hello;             // the ClientHello message the client wrote
  TlsFingerprints server_fingerprints;  // what the server took from the handshake
};

/// The client's message callback: keeps the first handshake message it writes.
void keep_client_hello(int write_p, int, int content_type, const void* buf, std::size_t length,
                       SSL*, void* arg) {
  auto* out = static_cast<std::string*>(arg);
  if (write_p == 1 && content_type == SSL3_RT_HANDSHAKE && out->empty())
    out->assign(static_cast<const char*>(buf), length);
}

/// Runs a real OpenSSL client/server handshake over an in-memory BIO pair.
/// `alpn`: the protocols the client offers, in ALPN's wire form (empty: no ALPN extension).
/// `configure_client` may change the client's context before the handshake.
HandshakeResult handshake(ServerTls& tls, const char* sni, int client_max_version = 0,
                          std::string_view alpn = std::string_view("\x02h2\x08http/1.1"),
                          const std::function<void(SSL_CTX*)>& configure_client = {}) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_ctx(SSL_CTX_new(TLS_client_method()),
                                                               SSL_CTX_free);
  // Let old-protocol clients actually offer what they claim (OpenSSL 3 refuses at level 1+).
  SSL_CTX_set_cipher_list(client_ctx.get(), "DEFAULT:@SECLEVEL=0");
  if (client_max_version != 0) {
    SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client_ctx.get(), client_max_version);
  }
  if (configure_client) configure_client(client_ctx.get());
  std::unique_ptr<SSL, decltype(&SSL_free)> client(SSL_new(client_ctx.get()), SSL_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> server(SSL_new(tls.context().native_handle()),
                                                   SSL_free);
  if (sni != nullptr) SSL_set_tlsext_host_name(client.get(), sni);
  if (!alpn.empty()) {
    SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned int>(alpn.size()));
  }
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  HandshakeResult result;
  SSL_set_msg_callback(client.get(), keep_client_hello);
  SSL_set_msg_callback_arg(client.get(), &result.client_hello);
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int rc = SSL_do_handshake(client.get());
      if (rc == 1) {
        client_done = true;
      } else if (SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return result;
      }
    }
    if (!server_done) {
      const int rc = SSL_do_handshake(server.get());
      if (rc == 1) {
        server_done = true;
      } else if (SSL_get_error(server.get(), rc) != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return result;
      }
    }
  }
  result.ok = client_done && server_done;
  if (!result.ok) return result;
  X509* peer = SSL_get0_peer_certificate(client.get());
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  result.served_cn = cn;
  const unsigned char* selected = nullptr;
  unsigned int selected_length = 0;
  SSL_get0_alpn_selected(client.get(), &selected, &selected_length);
  result.alpn.assign(reinterpret_cast<const char*>(selected), selected_length);
  result.version = SSL_version(client.get());
  result.server_fingerprints = ServerTls::take_fingerprints(server.get());
  return result;
}

TEST_F(ServerTlsTest, FingerprintsOnlyWhenThePlanAsks) {
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  EXPECT_FALSE(tls->computes_fingerprints());
  const HandshakeResult result = handshake(*tls, "api.example.com");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.server_fingerprints, TlsFingerprints{});
}

/// A client extension OpenSSL does not know (ALPS's type), so it lists it in no accessor.
int add_unknown_extension(SSL*, unsigned int, const unsigned char** out, std::size_t* length, int*,
                          void*) {
  static constexpr unsigned char kData[] = {0x00, 0x03, 0x02, 'h', '2'};
  *out = kData;
  *length = sizeof kData;
  return 1;
}

TEST_F(ServerTlsTest, FingerprintsTheClientHelloAsSent) {
  fingerprints_ = true;
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  EXPECT_TRUE(tls->computes_fingerprints());
  for (const int version : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(version);
    // SNI that switches to another context, and an extension unknown to OpenSSL.
    const HandshakeResult result =
        handshake(*tls, "api.example.com", version, "\x08http/1.1", [](SSL_CTX* client) {
          SSL_CTX_add_client_custom_ext(client, 0x4469, add_unknown_extension, nullptr, nullptr,
                                        nullptr, nullptr);
        });
    ASSERT_TRUE(result.ok);
    EXPECT_EQ(result.served_cn, "exact");
    const auto message = std::span(reinterpret_cast<const uint8_t*>(result.client_hello.data()),
                                   result.client_hello.size());
    const std::optional<ClientHello> hello = parse_client_hello(message);
    ASSERT_TRUE(hello.has_value());
    EXPECT_NE(std::find(hello->extensions.begin(), hello->extensions.end(), 0x4469),
              hello->extensions.end());
    EXPECT_EQ(result.server_fingerprints.ja3, ja3_fingerprint(*hello));
    EXPECT_EQ(result.server_fingerprints.ja4, ja4_fingerprint(*hello));
    EXPECT_TRUE(result.server_fingerprints.ja4.starts_with(version == 0 ? "t13d" : "t12d"))
        << result.server_fingerprints.ja4;
    EXPECT_EQ(result.server_fingerprints.ja4.substr(8, 2), "h1");
  }
}

TEST_F(ServerTlsTest, SelectsExactThenWildcardThenFirst) {
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  ASSERT_EQ(tls->certificate_count(), 3u);
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("api.example.com")), "exact");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("API.Example.COM.")), "exact");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("www.example.com")), "wildcard");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("example.org")), "wildcard");
  // A wildcard covers one label only.
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("a.b.example.com")), "primary");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("example.com")), "primary");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("primary.test")), "primary");
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("")), "primary");
}

TEST_F(ServerTlsTest, ExactBeatsEarlierWildcard) {
  // "wildcard" comes before "exact" in proxy order, yet the exact SAN wins.
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->certificate_name(tls->select_certificate("api.example.com")), "exact");
}

TEST_F(ServerTlsTest, HandshakeServesCertificateChosenBySni) {
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  auto exact = handshake(*tls, "api.example.com");
  ASSERT_TRUE(exact.ok);
  EXPECT_EQ(exact.served_cn, "exact");
  EXPECT_EQ(exact.alpn, "h2");

  auto wildcard = handshake(*tls, "shop.example.com");
  ASSERT_TRUE(wildcard.ok);
  EXPECT_EQ(wildcard.served_cn, "wild");

  auto unknown = handshake(*tls, "other.test");
  ASSERT_TRUE(unknown.ok);
  EXPECT_EQ(unknown.served_cn, "primary.test");

  auto no_sni = handshake(*tls, nullptr, 0, /*alpn=*/"");
  ASSERT_TRUE(no_sni.ok);
  EXPECT_EQ(no_sni.served_cn, "primary.test");
  EXPECT_EQ(no_sni.alpn, "");
}

TEST_F(ServerTlsTest, AlpnPrefersH2ElseHttp11) {
  auto tls = create();
  ASSERT_NE(tls, nullptr);
  // The server's preference decides: h2 whenever the client offers it, in any order.
  EXPECT_EQ(handshake(*tls, "api.example.com", 0, "\x08http/1.1\x02h2").alpn, "h2");
  EXPECT_EQ(handshake(*tls, "api.example.com", 0, "\x08http/1.1").alpn, "http/1.1");
  // Nothing albemu speaks: no protocol is selected, and the handshake still succeeds.
  const auto other = handshake(*tls, "api.example.com", 0, "\x08spdy/3.1");
  EXPECT_TRUE(other.ok);
  EXPECT_EQ(other.alpn, "");
}

TEST_F(ServerTlsTest, MinTlsVersionRejectsOlderClients) {
  model::SslPolicy policy;
  policy.name = "tls12";
  policy.profile = "MODERN";
  policy.min_tls_version = "TLS_1_2";
  auto strict = create(&policy);
  ASSERT_NE(strict, nullptr);
  EXPECT_FALSE(handshake(*strict, "api.example.com", TLS1_1_VERSION).ok);
  auto tls12 = handshake(*strict, "api.example.com", TLS1_2_VERSION);
  ASSERT_TRUE(tls12.ok);
  EXPECT_EQ(tls12.version, TLS1_2_VERSION);
  EXPECT_EQ(tls12.served_cn, "exact");  // SNI selection also works below TLS 1.3

  // Without a policy (COMPATIBLE, TLS 1.0) the same TLS 1.1 client gets in.
  auto compatible = create();
  ASSERT_NE(compatible, nullptr);
  auto tls11 = handshake(*compatible, "api.example.com", TLS1_1_VERSION);
  EXPECT_TRUE(tls11.ok);
  EXPECT_EQ(tls11.version, TLS1_1_VERSION);

  policy.profile = "RESTRICTED";
  policy.min_tls_version = "TLS_1_3";
  auto tls13_only = create(&policy);
  ASSERT_NE(tls13_only, nullptr);
  EXPECT_FALSE(handshake(*tls13_only, "api.example.com", TLS1_2_VERSION).ok);
  EXPECT_TRUE(handshake(*tls13_only, "api.example.com").ok);
}

TEST_F(ServerTlsTest, BadPemNamesTheCertificate) {
  certificates_[1]->certificate =
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  config::ConfigErrors errors;
  EXPECT_EQ(ServerTls::create(plan(), errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "certs.yaml");
  EXPECT_EQ(errors[0].field_path, "sslCertificates[wildcard].certificate");
}

TEST_F(ServerTlsTest, MismatchedKeyNamesTheCertificate) {
  certificates_[2]->private_key = certificates_[0]->private_key;
  config::ConfigErrors errors;
  EXPECT_EQ(ServerTls::create(plan(), errors), nullptr);
  ASSERT_EQ(errors.size(), 1u) << config::format_errors(errors);
  EXPECT_EQ(errors[0].field_path, "sslCertificates[exact].privateKey");
  EXPECT_NE(errors[0].message.find("does not match"), std::string::npos);
}

TEST_F(ServerTlsTest, BadPolicyValues) {
  model::SslPolicy policy;
  policy.name = "odd";
  policy.profile = "ANCIENT";
  policy.min_tls_version = "SSL_3_0";
  config::ConfigErrors errors;
  EXPECT_EQ(ServerTls::create(plan(&policy), errors), nullptr);
  ASSERT_EQ(errors.size(), 2u) << config::format_errors(errors);
  EXPECT_EQ(errors[0].field_path, "sslPolicies[odd].minTlsVersion");
  EXPECT_EQ(errors[1].field_path, "sslPolicies[odd].profile");
}

TEST_F(ServerTlsTest, CustomProfileUsesIanaNames) {
  model::SslPolicy policy;
  policy.name = "custom";
  policy.profile = "CUSTOM";
  policy.min_tls_version = "TLS_1_2";
  policy.custom_features = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"};
  auto tls = create(&policy);
  ASSERT_NE(tls, nullptr);
  EXPECT_TRUE(handshake(*tls, "api.example.com", TLS1_2_VERSION).ok);

  policy.custom_features = {"TLS_NOT_A_CIPHER"};
  config::ConfigErrors errors;
  EXPECT_EQ(ServerTls::create(plan(&policy), errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field_path, "sslPolicies[custom].customFeatures");
}

TEST(CipherList, Profiles) {
  EXPECT_NE(cipher_list_for_profile("COMPATIBLE").find("AES128-SHA"), std::string_view::npos);
  EXPECT_EQ(cipher_list_for_profile("RESTRICTED").find("-SHA:"), std::string_view::npos);
  EXPECT_EQ(cipher_list_for_profile("FIPS_202205").find("CHACHA20"), std::string_view::npos);
  EXPECT_TRUE(cipher_list_for_profile("CUSTOM").empty());
}

}  // namespace
}  // namespace albemu::net
