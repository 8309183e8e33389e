#include "proxy/net/client_cert.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>

namespace albemu::net {

namespace {

// GCP's client_cert_error strings (load-balancing docs, "mTLS client validation").
constexpr const char* kNotProvided = "client_cert_not_provided";
constexpr const char* kValidationFailed = "client_cert_validation_failed";
constexpr const char* kNotPerformed = "client_cert_validation_not_performed";
constexpr const char* kInvalidEku = "client_cert_chain_invalid_eku";
constexpr const char* kChainExceededLimit = "client_cert_chain_exceeded_limit";
constexpr const char* kInvalidRsaKeySize = "client_cert_invalid_rsa_key_size";
constexpr const char* kUnsupportedCurve = "client_cert_unsupported_elliptic_curve_key";
constexpr const char* kUnsupportedKey = "client_cert_unsupported_key_algorithm";
constexpr const char* kVerified = "";

// GCP's limits on what the variables carry.
constexpr int kMaxIntermediates = 10;
constexpr std::size_t kMaxSerialBytes = 50;
constexpr std::size_t kMaxSpiffeId = 2048;
constexpr std::size_t kMaxSans = 512;
constexpr std::size_t kMaxDn = 512;
constexpr std::size_t kMaxLeafAndChain = 16 * 1024;

/// The SSL ex_data slot holding the handshake's verdict: one of the constants above.
int verdict_index() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return kIndex;
}

std::string base64(const unsigned char* data, std::size_t length) {
  std::string out(4 * ((length + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(length));
  out.resize(written > 0 ? static_cast<std::size_t>(written) : 0);
  return out;
}

std::string base64(std::string_view text) {
  return base64(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

/// The DER encoding of `object` by OpenSSL's `encode` (i2d_X509, i2d_X509_NAME, ...).
template <class T>
std::string der_of(const T* object, int (*encode)(const T*, unsigned char**)) {
  unsigned char* der = nullptr;
  const int length = encode(object, &der);
  if (length <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string rfc3339(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return text;
}

/// GCP accepts RSA keys of 2048-4096 bits and ECDSA keys on P-256 or P-384.
const char* key_problem(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return kUnsupportedKey;
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    return bits < 2048 || bits > 4096 ? kInvalidRsaKeySize : nullptr;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &length) != 1)
      return kUnsupportedCurve;
    const std::string_view name(curve, length);
    return name == "prime256v1" || name == "P-256" || name == "secp384r1" || name == "P-384"
               ? nullptr
               : kUnsupportedCurve;
  }
  return kUnsupportedKey;
}

/// MD4, MD5 and SHA-1 signatures are refused (GCP: SHA-256 or stronger).
bool weak_signature(X509* cert) {
  int digest = NID_undef;
  if (X509_get_signature_info(cert, &digest, nullptr, nullptr, nullptr) != 1) return true;
  return digest == NID_md4 || digest == NID_md5 || digest == NID_sha1 || digest == NID_sha224;
}

/// GCP: a client certificate's extended key usage must include clientAuth.
bool has_client_auth_eku(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0 &&
         (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) != 0;
}

/// Every certificate of a PEM text (a bundle holds several); empty if none parses.
std::vector<std::unique_ptr<X509, decltype(&X509_free)>> read_certificates(const std::string& pem) {
  std::vector<std::unique_ptr<X509, decltype(&X509_free)>> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert, X509_free);
  }
  ERR_clear_error();
  return out;
}

void append_error(std::string& errors, std::string_view error) {
  if (!errors.empty()) errors += ',';
  errors += error;
}

/// Sets `value` to "" and notes `error` when `value` is longer than `limit`.
void limit(std::string& value, std::size_t size, std::size_t limit_bytes, std::string& errors,
           std::string_view error) {
  if (size <= limit_bytes) return;
  value.clear();
  append_error(errors, error);
}

}  // namespace

std::shared_ptr<ClientCertVerifier> ClientCertVerifier::create(
    const model::ServerTlsPolicy& policy, const model::TrustConfig* trust_config,
    config::ConfigErrors& errors) {
  std::shared_ptr<ClientCertVerifier> verifier(new ClientCertVerifier());
  verifier->reject_invalid_ = policy.client_validation_mode == "REJECT_INVALID";
  verifier->policy_name_ = policy.name;
  if (trust_config == nullptr) return verifier;
  verifier->has_trust_config_ = true;
  const std::size_t errors_before = errors.size();
  const std::string path = "trustConfigs[" + trust_config->name + "]";
  auto certificate = [&](const model::PemCertificate& pem, const std::string& field) {
    auto cert = read_certificates(pem.pem);
    if (cert.empty()) {
      errors.push_back({trust_config->origin.file, path + field,
                        "not a valid PEM certificate" +
                            (pem.file.empty() ? std::string() : " ('" + pem.file + "')")});
    }
    return cert;
  };
  for (std::size_t s = 0; s < trust_config->trust_stores.size(); ++s) {
    const model::TrustStore& store = trust_config->trust_stores[s];
    const std::string store_path = ".trustStores[" + std::to_string(s) + "]";
    if (verifier->store_ == nullptr) verifier->store_ = X509_STORE_new();
    for (std::size_t i = 0; i < store.trust_anchors.size(); ++i) {
      for (const auto& cert : certificate(store.trust_anchors[i],
                                          store_path + ".trustAnchors[" + std::to_string(i) + "]"))
        X509_STORE_add_cert(verifier->store_, cert.get());
    }
    for (std::size_t i = 0; i < store.intermediate_cas.size(); ++i) {
      for (auto& cert : certificate(store.intermediate_cas[i],
                                    store_path + ".intermediateCas[" + std::to_string(i) + "]")) {
        if (verifier->intermediates_ == nullptr) verifier->intermediates_ = sk_X509_new_null();
        sk_X509_push(verifier->intermediates_, cert.release());
      }
    }
  }
  for (std::size_t i = 0; i < trust_config->allowlisted_certificates.size(); ++i) {
    for (const auto& cert : certificate(trust_config->allowlisted_certificates[i],
                                        ".allowlistedCertificates[" + std::to_string(i) + "]"))
      verifier->allowlisted_der_.push_back(der_of(cert.get(), i2d_X509));
  }
  ERR_clear_error();
  if (errors.size() != errors_before) return nullptr;
  return verifier;
}

ClientCertVerifier::~ClientCertVerifier() {
  if (store_ != nullptr) X509_STORE_free(store_);
  if (intermediates_ != nullptr) sk_X509_pop_free(intermediates_, X509_free);
}

void ClientCertVerifier::configure(SSL_CTX* ctx) const {
  int mode = SSL_VERIFY_PEER;
  if (reject_invalid_) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &ClientCertVerifier::on_verify,
                                   const_cast<ClientCertVerifier*>(this));
  // A resumed session skips validation (and OpenSSL keeps only the leaf of it): every
  // connection does a full handshake instead.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  static constexpr unsigned char kSessionContext[] = "albemu-mtls";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  (void)verdict_index();  // allocated here, on the main thread, before any handshake
}

std::string_view ClientCertVerifier::validate(X509* leaf, STACK_OF(X509) * sent) const {
  if (leaf == nullptr) return kNotProvided;
  if (!allowlisted_der_.empty()) {
    const std::string der = der_of(leaf, i2d_X509);
    for (const std::string& allowed : allowlisted_der_) {
      if (allowed == der) return kVerified;  // GCP: always valid, whatever its issuer or dates
    }
  }
  if (!has_trust_config_) return kNotPerformed;
  if (const char* problem = key_problem(leaf)) return problem;
  if (store_ == nullptr) return kValidationFailed;  // only an allowlist, and not on it
  const int sent_count = sent == nullptr ? 0 : sk_X509_num(sent);
  int sent_intermediates = 0;
  for (int i = 0; i < sent_count; ++i) {
    if (X509_cmp(sk_X509_value(sent, i), leaf) != 0) ++sent_intermediates;
  }
  if (sent_intermediates > kMaxIntermediates) return kChainExceededLimit;
  // GCP: the leaf's basicConstraints must not say CA=true; SHA-256 or stronger.
  if ((X509_get_extension_flags(leaf) & EXFLAG_CA) != 0 || weak_signature(leaf))
    return kValidationFailed;
  if (!has_client_auth_eku(leaf)) return kInvalidEku;

  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (int i = 0; i < sent_count; ++i) sk_X509_push(untrusted.get(), sk_X509_value(sent, i));
  const int intermediate_count = intermediates_ == nullptr ? 0 : sk_X509_num(intermediates_);
  for (int i = 0; i < intermediate_count; ++i)
    sk_X509_push(untrusted.get(), sk_X509_value(intermediates_, i));
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> context(X509_STORE_CTX_new(),
                                                                          X509_STORE_CTX_free);
  if (!context || X509_STORE_CTX_init(context.get(), store_, leaf, untrusted.get()) != 1) {
    ERR_clear_error();
    return kValidationFailed;
  }
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
  const int verified = X509_verify_cert(context.get());
  const int error = X509_STORE_CTX_get_error(context.get());
  std::string_view verdict = kVerified;
  if (verified != 1) {
    // An issuer whose extended key usage leaves out clientAuth fails the purpose check.
    verdict = error == X509_V_ERR_INVALID_PURPOSE ? kInvalidEku : kValidationFailed;
  } else if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get())) {
    for (int i = 1; i < sk_X509_num(chain); ++i) {
      X509* issuer = sk_X509_value(chain, i);
      if (i + 1 < sk_X509_num(chain) && weak_signature(issuer)) verdict = kValidationFailed;
      if (const char* problem = key_problem(issuer)) verdict = problem;
    }
    if (sk_X509_num(chain) > kMaxIntermediates + 2) verdict = kChainExceededLimit;
  }
  ERR_clear_error();
  return verdict;
}

int ClientCertVerifier::on_verify(X509_STORE_CTX* store_context, void* arg) {
  const auto* verifier = static_cast<const ClientCertVerifier*>(arg);
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_context, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store_context);
  STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(store_context);
  const std::string_view verdict = verifier->validate(leaf, sent);
  // The verdicts are the constants above: NUL-terminated, static, never freed.
  if (ssl != nullptr) SSL_set_ex_data(ssl, verdict_index(), const_cast<char*>(verdict.data()));
  if (verdict.empty() || !verifier->reject_invalid_) return 1;
  X509_STORE_CTX_set_error(store_context, verdict == kInvalidEku ? X509_V_ERR_INVALID_PURPOSE
                                                                 : X509_V_ERR_CERT_REJECTED);
  return 0;
}

std::string_view ClientCertVerifier::rejection(SSL* ssl, unsigned long reason) const {
  if (!reject_invalid_ || ssl == nullptr) return {};
  if (ERR_GET_REASON(reason) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return kNotProvided;
  // A verdict is there only if the client's certificate was looked at; an empty one (valid)
  // means the handshake failed for another reason.
  const auto* verdict = static_cast<const char*>(SSL_get_ex_data(ssl, verdict_index()));
  return verdict != nullptr ? std::string_view(verdict) : std::string_view();
}

std::shared_ptr<const ClientCertInfo> ClientCertVerifier::inspect(SSL* ssl) const {
  auto info = std::make_shared<ClientCertInfo>();
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) {
    info->error = kNotProvided;
    return info;
  }
  info->present = true;
  const auto* verdict = static_cast<const char*>(SSL_get_ex_data(ssl, verdict_index()));
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);  // server side: without the leaf
  const std::string_view result =
      verdict != nullptr ? std::string_view(verdict) : validate(leaf, sent);
  info->chain_verified = result.empty();
  info->error = std::string(result);

  const std::string der = der_of(leaf, i2d_X509);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(leaf, EVP_sha256(), digest, &digest_length) == 1)
    info->sha256_fingerprint = base64(digest, digest_length);

  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf)) {
    const int length = ASN1_STRING_length(serial);
    const unsigned char* bytes = ASN1_STRING_get0_data(serial);
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < length; ++i) {
      info->serial_number += kHex[bytes[i] >> 4];
      info->serial_number += kHex[bytes[i] & 0xf];
    }
    limit(info->serial_number, static_cast<std::size_t>(length), kMaxSerialBytes, info->error,
          "client_cert_serial_number_exceeded_size_limit");
  }

  if (auto* sans = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr))) {
    std::size_t uri_size = 0;
    std::size_t dns_size = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type != GEN_URI && name->type != GEN_DNS) continue;
      const ASN1_STRING* value =
          name->type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
      const std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                  static_cast<std::size_t>(ASN1_STRING_length(value)));
      if (name->type == GEN_URI && text.starts_with("spiffe://") && info->spiffe_id.empty()) {
        info->spiffe_id = std::string(text);
        limit(info->spiffe_id, text.size(), kMaxSpiffeId, info->error,
              "client_cert_spiffe_id_exceeded_size_limit");
        continue;
      }
      std::string& list = name->type == GEN_URI ? info->uri_sans : info->dnsname_sans;
      (name->type == GEN_URI ? uri_size : dns_size) += text.size();
      if (!list.empty()) list += ',';
      list += base64(text);
    }
    GENERAL_NAMES_free(sans);
    limit(info->uri_sans, uri_size, kMaxSans, info->error,
          "client_cert_uri_sans_exceeded_size_limit");
    limit(info->dnsname_sans, dns_size, kMaxSans, info->error,
          "client_cert_dnsname_sans_exceeded_size_limit");
  }

  info->valid_not_before = rfc3339(X509_get0_notBefore(leaf));
  info->valid_not_after = rfc3339(X509_get0_notAfter(leaf));
  const std::string issuer = der_of(X509_get_issuer_name(leaf), i2d_X509_NAME);
  const std::string subject = der_of(X509_get_subject_name(leaf), i2d_X509_NAME);
  info->issuer_dn = base64(issuer);
  info->subject_dn = base64(subject);
  limit(info->issuer_dn, issuer.size(), kMaxDn, info->error,
        "client_cert_issuer_dn_exceeded_size_limit");
  limit(info->subject_dn, subject.size(), kMaxDn, info->error,
        "client_cert_subject_dn_exceeded_size_limit");

  if (info->chain_verified) {
    info->leaf = ':' + base64(der) + ':';
    limit(info->leaf, der.size(), kMaxLeafAndChain, info->error,
          "client_cert_validated_leaf_exceeded_size_limit");
    std::size_t total = der.size();
    const int count = sent == nullptr ? 0 : sk_X509_num(sent);
    for (int i = 0; i < count; ++i) {
      X509* cert = sk_X509_value(sent, i);
      if (X509_cmp(cert, leaf) == 0) continue;
      const std::string cert_der = der_of(cert, i2d_X509);
      total += cert_der.size();
      if (!info->chain.empty()) info->chain += ',';
      info->chain += ':' + base64(cert_der) + ':';
    }
    limit(info->chain, total, kMaxLeafAndChain, info->error,
          "client_cert_validated_chain_exceeded_size_limit");
  }
  return info;
}

}  // namespace albemu::net
