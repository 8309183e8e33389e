#include "proxy/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <string_view>
#include <utility>

#include "proxy/core/ascii.h"

namespace albemu::net {
namespace ssl = boost::asio::ssl;

namespace {

// GCP SSL policy profiles (cloud.google.com/load-balancing/docs/ssl-policies-concepts) as
// OpenSSL cipher lists for TLS 1.0-1.2. TLS 1.3 suites are OpenSSL's defaults except FIPS.
// COMPATIBLE drops OpenSSL 3's security level so TLS 1.0/1.1 clients (SHA-1 signatures)
// can still connect, as they can on GCP.
constexpr std::string_view kCompatibleCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0";
constexpr std::string_view kModernCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "@SECLEVEL=0";
constexpr std::string_view kRestrictedCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr std::string_view kFipsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384";
constexpr const char* kFipsTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

int min_version(std::string_view text) {
  if (text.empty() || text == "TLS_1_0") return TLS1_VERSION;
  if (text == "TLS_1_1") return TLS1_1_VERSION;
  if (text == "TLS_1_2") return TLS1_2_VERSION;
  if (text == "TLS_1_3") return TLS1_3_VERSION;
  return 0;
}

std::string openssl_error_text() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

/// SAN DNS names of the context's certificate, else its subject CN; lower-cased.
std::vector<std::string> certificate_names(SSL_CTX* ctx) {
  std::vector<std::string> names;
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(name->d.dNSName);
      const int length = ASN1_STRING_length(name->d.dNSName);
      names.push_back(core::ascii_lowered(
          std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char common_name[256];
    const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                                                 common_name, sizeof common_name);
    if (length > 0)
      names.push_back(
          core::ascii_lowered(std::string_view(common_name, static_cast<std::size_t>(length))));
  }
  return names;
}

/// ALPN: h2 when the client offers it (as the load balancer does), else http/1.1; a client
/// that offers neither proceeds without ALPN (and speaks HTTP/1.1).
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void*) {
  static constexpr std::string_view kPreferred[] = {"h2", "http/1.1"};
  for (const std::string_view protocol : kPreferred) {
    for (unsigned int i = 0; i < in_length;) {
      const unsigned int length = in[i];
      if (i + 1 + length > in_length) break;
      const std::string_view offered(reinterpret_cast<const char*>(in + i + 1), length);
      if (offered == protocol) {
        *out = in + i + 1;
        *out_length = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + length;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

bool parses_as_private_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (key == nullptr) return false;
  EVP_PKEY_free(key);
  return true;
}

/// The SSL ex_data slot holding a handshake's TlsFingerprints (owned; freed with the SSL).
int fingerprints_index() {
  static const int kIndex =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                           [](void*, void* fingerprints, CRYPTO_EX_DATA*, int, long, void*) {
                             delete static_cast<TlsFingerprints*>(fingerprints);
                           });
  return kIndex;
}

bool wildcard_matches(std::string_view pattern, std::string_view host) {
  // `*.example.com` covers exactly one label: a.example.com, not a.b.example.com.
  if (!pattern.starts_with("*.")) return false;
  const auto dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  return host.substr(dot) == pattern.substr(1);
}

}  // namespace

std::string_view cipher_list_for_profile(std::string_view profile) {
  if (profile.empty() || profile == "COMPATIBLE") return kCompatibleCiphers;
  if (profile == "MODERN") return kModernCiphers;
  if (profile == "RESTRICTED") return kRestrictedCiphers;
  if (profile == "FIPS_202205") return kFipsCiphers;
  return {};
}

std::shared_ptr<ServerTls> ServerTls::create(const core::ListenerPlan& plan,
                                             config::ConfigErrors& errors) {
  const std::size_t errors_before = errors.size();
  const model::SslPolicy* policy = plan.ssl_policy;
  const std::string policy_path =
      policy != nullptr ? "sslPolicies[" + policy->name + "]" : std::string();
  const std::string policy_file = policy != nullptr ? policy->origin.file : std::string();

  const int version = min_version(policy != nullptr ? policy->min_tls_version : "TLS_1_0");
  if (version == 0) {
    errors.push_back({policy_file, policy_path + ".minTlsVersion",
                      "unsupported minTlsVersion '" + policy->min_tls_version + "'"});
  }
  std::string ciphers;
  const std::string profile = policy != nullptr ? policy->profile : "COMPATIBLE";
  if (profile == "CUSTOM") {
    // customFeatures are IANA names; TLS 1.3 suites are always on and need no entry.
    for (const std::string& feature : policy->custom_features) {
      const char* name = OPENSSL_cipher_name(feature.c_str());
      if (name == nullptr || std::string_view(name) == "(NONE)") {
        if (feature.starts_with("TLS_AES_") || feature.starts_with("TLS_CHACHA20_")) continue;
        errors.push_back({policy_file, policy_path + ".customFeatures",
                          "unknown cipher suite '" + feature + "'"});
        continue;
      }
      if (!ciphers.empty()) ciphers += ':';
      ciphers += name;
    }
    if (!ciphers.empty()) ciphers += ":@SECLEVEL=0";
  } else {
    ciphers = std::string(cipher_list_for_profile(profile));
    if (ciphers.empty()) {
      errors.push_back(
          {policy_file, policy_path + ".profile", "unsupported profile '" + profile + "'"});
    }
  }
  if (plan.certificates.empty()) {
    errors.push_back({"", "targetHttpsProxies[" + plan.target_proxy + "].sslCertificates",
                      "an HTTPS proxy needs at least one certificate"});
  }
  std::shared_ptr<ClientCertVerifier> verifier;
  if (plan.server_tls_policy != nullptr) {
    verifier = ClientCertVerifier::create(*plan.server_tls_policy, plan.trust_config, errors);
  }
  if (errors.size() != errors_before) return nullptr;

  std::shared_ptr<ServerTls> tls(new ServerTls());
  tls->client_verifier_ = std::move(verifier);
  for (const model::SslCertificate* certificate : plan.certificates) {
    const std::string path = "sslCertificates[" + certificate->name + "]";
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* ctx = context->native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_min_proto_version(ctx, version);
    if (!ciphers.empty() && SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
      errors.push_back({policy_file, policy_path + ".profile",
                        "no usable cipher suite: " + openssl_error_text()});
      return nullptr;
    }
    if (profile == "FIPS_202205") SSL_CTX_set_ciphersuites(ctx, kFipsTls13Suites);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
    // On every context: the SNI callback may switch the handshake to any of them.
    if (tls->client_verifier_) tls->client_verifier_->configure(ctx);

    boost::system::error_code ec;
    context->use_certificate_chain(
        boost::asio::buffer(certificate->certificate.data(), certificate->certificate.size()), ec);
    if (ec) {
      errors.push_back({certificate->origin.file, path + ".certificate",
                        "not a valid PEM certificate: " + ec.message()});
      continue;
    }
    context->use_private_key(
        boost::asio::buffer(certificate->private_key.data(), certificate->private_key.size()),
        ssl::context::pem, ec);
    if (ec) {
      // OpenSSL also fails here when the key is fine but belongs to another certificate.
      errors.push_back({certificate->origin.file, path + ".privateKey",
                        parses_as_private_key(certificate->private_key)
                            ? "the private key does not match the certificate"
                            : "not a valid PEM private key: " + ec.message()});
      continue;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      errors.push_back({certificate->origin.file, path + ".privateKey",
                        "the private key does not match the certificate"});
      continue;
    }
    tls->certificates_.push_back(
        Certificate{certificate->name, certificate_names(ctx), std::move(context)});
  }
  if (errors.size() != errors_before) return nullptr;

  SSL_CTX* primary = tls->certificates_.front().context->native_handle();
  SSL_CTX_set_tlsext_servername_callback(primary, &ServerTls::on_servername);
  SSL_CTX_set_tlsext_servername_arg(primary, tls.get());
  if (plan.tls_fingerprints) {
    // The primary context only: an SSL takes its message callback from the context it is
    // created with, and the ClientHello is read before the SNI callback may switch contexts.
    // The message callback rather than the client-hello callback: OpenSSL's ClientHello
    // accessors list only the extensions it knows (no ALPS, no compress_certificate, ...),
    // and the fingerprints need every extension the client sent, in its order.
    fingerprints_index();  // allocated here, on the main thread
    SSL_CTX_set_msg_callback(primary, &ServerTls::on_handshake_message);
    tls->computes_fingerprints_ = true;
  }
  return tls;
}

ServerTls::~ServerTls() = default;

ssl::context& ServerTls::context() { return *certificates_.front().context; }

std::size_t ServerTls::select_certificate(std::string_view sni) const {
  if (sni.empty()) return 0;
  std::string host = core::ascii_lowered(sni);
  if (host.ends_with('.')) host.pop_back();
  for (std::size_t i = 0; i < certificates_.size(); ++i) {
    const auto& names = certificates_[i].dns_names;
    if (std::find(names.begin(), names.end(), host) != names.end()) return i;
  }
  for (std::size_t i = 0; i < certificates_.size(); ++i) {
    for (const std::string& name : certificates_[i].dns_names) {
      if (wildcard_matches(name, host)) return i;
    }
  }
  return 0;
}

int ServerTls::on_servername(SSL* ssl, int*, void* arg) {
  const auto* tls = static_cast<const ServerTls*>(arg);
  const char* servername = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (servername == nullptr) return SSL_TLSEXT_ERR_OK;
  const std::size_t index = tls->select_certificate(servername);
  if (index != 0) SSL_set_SSL_CTX(ssl, tls->certificates_[index].context->native_handle());
  return SSL_TLSEXT_ERR_OK;
}

void ServerTls::on_handshake_message(int write_p, int, int content_type, const void* buf,
                                     std::size_t length, SSL* ssl, void*) {
  // Called for every record header and message in both directions; only the first message
  // the client sends matters: the ClientHello (a second one, after a HelloRetryRequest, is
  // not fingerprinted). Either way the callback is off for the rest of the connection.
  if (write_p != 0 || content_type != SSL3_RT_HANDSHAKE) return;
  SSL_set_msg_callback(ssl, nullptr);
  TlsFingerprints fingerprints =
      fingerprints_of(std::span(static_cast<const uint8_t*>(buf), length));
  if (fingerprints.ja3.empty() && fingerprints.ja4.empty()) return;
  auto* stored = new TlsFingerprints(std::move(fingerprints));
  if (SSL_set_ex_data(ssl, fingerprints_index(), stored) != 1) delete stored;
}

TlsFingerprints ServerTls::take_fingerprints(SSL* ssl) {
  auto* stored = static_cast<TlsFingerprints*>(SSL_get_ex_data(ssl, fingerprints_index()));
  if (stored == nullptr) return {};
  return std::move(*stored);
}

}  // namespace albemu::net
