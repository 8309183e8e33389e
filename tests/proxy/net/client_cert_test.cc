// Client certificate validation as GCP documents it for mutual TLS, and the values of the
// {client_cert_*} variables, through an in-memory TLS handshake (no sockets).

#include "proxy/net/client_cert.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "tests/proxy/pki_test_support.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::net {
namespace {

using testing::CertSpec;
using testing::issue;
using testing::issue_ca;
using testing::issue_client;
using testing::Issued;

model::PemCertificate pem(const Issued& issued) { return {issued.cert_pem, ""}; }

struct Pki {
  Issued root = issue_ca("Test Root");
  Issued intermediate = issue_ca("Test Intermediate", &root);
  Issued other_root = issue_ca("Other Root");
};

std::shared_ptr<ClientCertVerifier> make_verifier(const model::TrustConfig* trust,
                                                  const std::string& mode = "REJECT_INVALID") {
  model::ServerTlsPolicy policy;
  policy.name = "policy";
  policy.client_validation_mode = mode;
  config::ConfigErrors errors;
  auto verifier = ClientCertVerifier::create(policy, trust, errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().to_string());
  return verifier;
}

model::TrustConfig trust_of(const Issued& anchor, const Issued* intermediate = nullptr) {
  model::TrustConfig trust;
  trust.name = "trust";
  model::TrustStore store;
  store.trust_anchors.push_back(pem(anchor));
  if (intermediate != nullptr) store.intermediate_cas.push_back(pem(*intermediate));
  trust.trust_stores.push_back(store);
  return trust;
}

/// validate() for a leaf and the certificates a client sends with it.
std::string verdict(const ClientCertVerifier& verifier, const Issued& leaf,
                    std::vector<const Issued*> sent = {}) {
  STACK_OF(X509)* stack = sk_X509_new_null();
  sk_X509_push(stack, leaf.cert.get());
  for (const Issued* cert : sent) sk_X509_push(stack, cert->cert.get());
  std::string out(verifier.validate(leaf.cert.get(), stack));
  sk_X509_free(stack);
  return out;
}

TEST(ClientCertVerifierTest, ValidatesAsGcpDocuments) {
  Pki pki;
  const model::TrustConfig trust = trust_of(pki.root, &pki.intermediate);
  const auto verifier = make_verifier(&trust);
  ASSERT_TRUE(verifier);

  // Chained to the anchor through the trust config's intermediate, or one the client sends.
  EXPECT_EQ(verdict(*verifier, issue_client("direct", pki.root)), "");
  EXPECT_EQ(verdict(*verifier, issue_client("via", pki.intermediate)), "");
  const Issued unlisted = issue_ca("Unlisted Intermediate", &pki.root);
  EXPECT_EQ(verdict(*verifier, issue_client("sent", unlisted), {&unlisted}), "");
  EXPECT_EQ(verdict(*verifier, issue_client("missing", unlisted)), "client_cert_validation_failed");

  EXPECT_EQ(verdict(*verifier, issue_client("stranger", pki.other_root)),
            "client_cert_validation_failed");
  CertSpec expired{.common_name = "expired"};
  expired.not_before_offset = -7200;
  expired.not_after_offset = -3600;
  EXPECT_EQ(verdict(*verifier, issue(expired, &pki.root)), "client_cert_validation_failed");
  CertSpec server_only{.common_name = "server", .extended_key_usage = "serverAuth"};
  EXPECT_EQ(verdict(*verifier, issue(server_only, &pki.root)), "client_cert_chain_invalid_eku");
  CertSpec no_eku{.common_name = "no-eku", .extended_key_usage = ""};
  EXPECT_EQ(verdict(*verifier, issue(no_eku, &pki.root)), "client_cert_chain_invalid_eku");
  CertSpec ca_leaf{.common_name = "ca-leaf", .ca = true};
  EXPECT_EQ(verdict(*verifier, issue(ca_leaf, &pki.root)), "client_cert_validation_failed");
  CertSpec small_rsa{.common_name = "rsa1024"};
  small_rsa.rsa_bits = 1024;
  EXPECT_EQ(verdict(*verifier, issue(small_rsa, &pki.root)), "client_cert_invalid_rsa_key_size");
  CertSpec sha1{.common_name = "sha1"};
  sha1.digest = EVP_sha1();
  EXPECT_EQ(verdict(*verifier, issue(sha1, &pki.root)), "client_cert_validation_failed");
  CertSpec rsa2048{.common_name = "rsa2048"};
  rsa2048.rsa_bits = 2048;
  EXPECT_EQ(verdict(*verifier, issue(rsa2048, &pki.root)), "");
}

TEST(ClientCertVerifierTest, AllowlistedCertificatesAreValidWhateverTheirIssuer) {
  Pki pki;
  const Issued self_signed = issue(CertSpec{.common_name = "device"});
  model::TrustConfig trust;
  trust.name = "allow";
  trust.allowlisted_certificates.push_back(pem(self_signed));
  const auto verifier = make_verifier(&trust);
  EXPECT_EQ(verdict(*verifier, self_signed), "");
  EXPECT_EQ(verdict(*verifier, issue(CertSpec{.common_name = "device"})),
            "client_cert_validation_failed");
}

TEST(ClientCertVerifierTest, WithoutATrustConfigNothingIsValidated) {
  Pki pki;
  const auto verifier = make_verifier(nullptr, "ALLOW_INVALID_OR_MISSING_CLIENT_CERT");
  EXPECT_FALSE(verifier->reject_invalid());
  EXPECT_EQ(verdict(*verifier, issue_client("any", pki.root)),
            "client_cert_validation_not_performed");
}

TEST(ClientCertVerifierTest, ABadPemNamesItsField) {
  model::ServerTlsPolicy policy;
  policy.client_validation_mode = "REJECT_INVALID";
  model::TrustConfig trust;
  trust.name = "broken";
  trust.origin.file = "mtls.yaml";
  trust.trust_stores.push_back({{{"-----BEGIN CERTIFICATE-----\nnot base64\n", ""}}, {}});
  config::ConfigErrors errors;
  EXPECT_FALSE(ClientCertVerifier::create(policy, &trust, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "mtls.yaml");
  EXPECT_EQ(errors[0].field_path, "trustConfigs[broken].trustStores[0].trustAnchors[0]");
}

/// A TLS 1.3 handshake in memory between a server context configured by `verifier` and a
/// client offering `client` (or no certificate); returns the server's SSL after it, or null
/// when the handshake failed.
class MemoryHandshake {
 public:
  MemoryHandshake(const ClientCertVerifier& verifier, const Issued* client,
                  std::vector<const Issued*> chain = {}, int client_max_version = 0) {
    const auto server_cert = testing::generate_self_signed("lb.example.com", {"lb.example.com"});
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    BIO* bio = BIO_new_mem_buf(server_cert.certificate_pem.data(), -1);
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_certificate(server_ctx_.get(), cert);
    X509_free(cert);
    bio = BIO_new_mem_buf(server_cert.private_key_pem.data(), -1);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_PrivateKey(server_ctx_.get(), key);
    EVP_PKEY_free(key);
    verifier.configure(server_ctx_.get());

    SSL_CTX_set_min_proto_version(server_ctx_.get(), TLS1_2_VERSION);
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (client_max_version != 0) {
      SSL_CTX_set_security_level(client_ctx_.get(), 0);
      SSL_CTX_set_min_proto_version(client_ctx_.get(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(client_ctx_.get(), client_max_version);
    }
    if (client != nullptr) {
      SSL_CTX_use_certificate(client_ctx_.get(), client->cert.get());
      SSL_CTX_use_PrivateKey(client_ctx_.get(), client->key.get());
      for (const Issued* extra : chain) {
        SSL_CTX_add1_chain_cert(client_ctx_.get(), extra->cert.get());
      }
    }
    server_.reset(SSL_new(server_ctx_.get()));
    client_.reset(SSL_new(client_ctx_.get()));
    BIO* server_bio = nullptr;
    BIO* client_bio = nullptr;
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(server_.get(), server_bio, server_bio);
    SSL_set_bio(client_.get(), client_bio, client_bio);
    SSL_set_accept_state(server_.get());
    SSL_set_connect_state(client_.get());
    bool server_done = false;
    bool client_done = false;
    for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
      if (!client_done) client_done = SSL_do_handshake(client_.get()) == 1;
      if (!server_done) {
        const int result = SSL_do_handshake(server_.get());
        server_done = result == 1;
        if (result <= 0 && SSL_get_error(server_.get(), result) == SSL_ERROR_SSL && error_ == 0)
          error_ = ERR_peek_error();
      }
      // TLS 1.3: the server sees the client's certificate only after reading its Finished.
      char byte;
      SSL_read(client_.get(), &byte, 0);
    }
    ok_ = server_done;
    ERR_clear_error();
  }

  bool ok() const { return ok_; }
  /// The server's OpenSSL error when its handshake failed.
  unsigned long error() const { return error_; }
  SSL* server() const { return server_.get(); }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> server_ctx_{nullptr, SSL_CTX_free};
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_ctx_{nullptr, SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> server_{nullptr, SSL_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> client_{nullptr, SSL_free};
  bool ok_ = false;
  unsigned long error_ = 0;
};

TEST(ClientCertVerifierTest, RejectInvalidFailsTheHandshakeAndSaysWhy) {
  Pki pki;
  const model::TrustConfig trust = trust_of(pki.root);
  const auto verifier = make_verifier(&trust);
  const Issued good = issue_client("good", pki.root);
  const Issued stranger = issue_client("stranger", pki.other_root);
  EXPECT_TRUE(MemoryHandshake(*verifier, &good).ok());
  MemoryHandshake refused(*verifier, &stranger);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(verifier->rejection(refused.server(), refused.error()),
            "client_cert_validation_failed");
  MemoryHandshake missing(*verifier, nullptr);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(verifier->rejection(missing.server(), missing.error()), "client_cert_not_provided");
  // A handshake that fails before any certificate (no common TLS version) is not blamed on one.
  MemoryHandshake old_client(*verifier, &good, {}, TLS1_1_VERSION);
  EXPECT_FALSE(old_client.ok());
  EXPECT_EQ(verifier->rejection(old_client.server(), old_client.error()), "");
  // TLS 1.2 says the same as TLS 1.3.
  MemoryHandshake refused12(*verifier, &stranger, {}, TLS1_2_VERSION);
  EXPECT_FALSE(refused12.ok());
  EXPECT_EQ(verifier->rejection(refused12.server(), refused12.error()),
            "client_cert_validation_failed");
  MemoryHandshake missing12(*verifier, nullptr, {}, TLS1_2_VERSION);
  EXPECT_FALSE(missing12.ok());
  EXPECT_EQ(verifier->rejection(missing12.server(), missing12.error()), "client_cert_not_provided");
  EXPECT_TRUE(MemoryHandshake(*verifier, &good, {}, TLS1_2_VERSION).ok());
}

std::string b64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(text.data()),
                  static_cast<int>(text.size()));
  return out;
}

TEST(ClientCertVerifierTest, InspectFillsTheVariablesInGcpsForms) {
  Pki pki;
  const model::TrustConfig trust = trust_of(pki.root);
  const auto verifier = make_verifier(&trust, "ALLOW_INVALID_OR_MISSING_CLIENT_CERT");
  CertSpec spec{.common_name = "client"};
  spec.serial = 0x0102abcd;
  spec.subject_alt_names = {"URI:spiffe://example.org/ns/a/sa/b", "URI:https://id.example.com/x",
                            "DNS:client.example.com", "DNS:alt.example.com"};
  const Issued client = issue(spec, &pki.intermediate);
  MemoryHandshake handshake(*verifier, &client, {&pki.intermediate});
  ASSERT_TRUE(handshake.ok());
  const auto info = verifier->inspect(handshake.server());
  EXPECT_TRUE(info->present);
  EXPECT_TRUE(info->chain_verified);
  EXPECT_EQ(info->error, "");
  EXPECT_EQ(info->serial_number, "0102abcd");
  EXPECT_EQ(info->spiffe_id, "spiffe://example.org/ns/a/sa/b");
  EXPECT_EQ(info->uri_sans, b64("https://id.example.com/x"));
  EXPECT_EQ(info->dnsname_sans, b64("client.example.com") + "," + b64("alt.example.com"));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  X509_digest(client.cert.get(), EVP_sha256(), digest, &digest_length);
  EXPECT_EQ(info->sha256_fingerprint,
            b64(std::string_view(reinterpret_cast<const char*>(digest), digest_length)));
  unsigned char* der = nullptr;
  int der_length = i2d_X509(pki.intermediate.cert.get(), &der);
  EXPECT_EQ(info->chain,
            ":" + b64(std::string_view(reinterpret_cast<const char*>(der), der_length)) + ":");
  OPENSSL_free(der);
  der = nullptr;
  der_length = i2d_X509_NAME(X509_get_subject_name(client.cert.get()), &der);
  EXPECT_EQ(info->subject_dn,
            b64(std::string_view(reinterpret_cast<const char*>(der), der_length)));
  OPENSSL_free(der);
  EXPECT_EQ(info->valid_not_before.size(), 25u) << info->valid_not_before;
  EXPECT_TRUE(info->valid_not_after.ends_with("+00:00")) << info->valid_not_after;
  EXPECT_FALSE(info->subject_dn.empty());
  EXPECT_NE(info->subject_dn, info->issuer_dn);
  EXPECT_TRUE(info->leaf.starts_with(":MII") && info->leaf.ends_with(":")) << info->leaf;
  EXPECT_TRUE(info->chain.starts_with(":MII") && info->chain.ends_with(":")) << info->chain;

  // A certificate that fails validation still tells who it is, but not its leaf or chain.
  const Issued stranger = issue_client("stranger", pki.other_root);
  MemoryHandshake allowed(*verifier, &stranger);
  ASSERT_TRUE(allowed.ok());
  const auto failed = verifier->inspect(allowed.server());
  EXPECT_TRUE(failed->present);
  EXPECT_FALSE(failed->chain_verified);
  EXPECT_EQ(failed->error, "client_cert_validation_failed");
  EXPECT_FALSE(failed->sha256_fingerprint.empty());
  EXPECT_EQ(failed->leaf, "");

  MemoryHandshake none(*verifier, nullptr);
  ASSERT_TRUE(none.ok());
  const auto missing = verifier->inspect(none.server());
  EXPECT_FALSE(missing->present);
  EXPECT_EQ(missing->error, "client_cert_not_provided");
}

}  // namespace
}  // namespace albemu::net
