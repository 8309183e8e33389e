#pragma once
// Test-only: a small PKI made in process with OpenSSL's APIs (root and intermediate CAs, client
// certificates with chosen extensions, dates, keys and digests), for the mutual TLS tests.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace albemu::testing {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

/// A certificate with its key; `cert` and `key` as OpenSSL objects, the rest as PEM.
struct Issued {
  X509Ptr cert{nullptr, X509_free};
  KeyPtr key{nullptr, EVP_PKEY_free};
  std::string cert_pem;
  std::string key_pem;
};

/// What to put in a certificate.
struct CertSpec {
  std::string common_name;
  bool ca = false;
  /// extendedKeyUsage, e.g. "clientAuth"; empty: none.
  std::string extended_key_usage = "clientAuth";
  /// subjectAltName entries, e.g. "URI:spiffe://example.org/a", "DNS:client.example.com".
  std::vector<std::string> subject_alt_names;
  long not_before_offset = -60;         // seconds from now
  long not_after_offset = 24 * 3600;    // seconds from now
  int rsa_bits = 0;                     // 0: an EC P-256 key
  const EVP_MD* digest = EVP_sha256();  // the issuer's signature digest
  long serial = 0;                      // 0: a counter
};

namespace pki_detail {

inline std::string to_pem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

inline std::string to_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) return;
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

}  // namespace pki_detail

/// Issues a certificate for `spec`, signed by `issuer` (null: self-signed).
inline Issued issue(const CertSpec& spec, const Issued* issuer = nullptr) {
  Issued out;
  out.key.reset(spec.rsa_bits > 0 ? EVP_RSA_gen(static_cast<unsigned>(spec.rsa_bits))
                                  : EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  static long counter = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), spec.serial != 0 ? spec.serial : counter++);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_offset);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("albemu tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* signer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* signer_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(signer_cert));
  if (spec.ca) {
    pki_detail::add_extension(cert, signer_cert, NID_basic_constraints, "critical,CA:TRUE");
    pki_detail::add_extension(cert, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    pki_detail::add_extension(cert, signer_cert, NID_basic_constraints, "CA:FALSE");
    pki_detail::add_extension(cert, signer_cert, NID_key_usage, "critical,digitalSignature");
  }
  if (!spec.extended_key_usage.empty()) {
    pki_detail::add_extension(cert, signer_cert, NID_ext_key_usage, spec.extended_key_usage);
  }
  pki_detail::add_extension(cert, signer_cert, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    pki_detail::add_extension(cert, signer_cert, NID_authority_key_identifier, "keyid:always");
  }
  if (!spec.subject_alt_names.empty()) {
    std::string sans;
    for (const std::string& san : spec.subject_alt_names) {
      if (!sans.empty()) sans += ',';
      sans += san;
    }
    pki_detail::add_extension(cert, signer_cert, NID_subject_alt_name, sans);
  }
  X509_sign(cert, signer_key, spec.digest);
  out.cert_pem = pki_detail::to_pem(cert);
  out.key_pem = pki_detail::to_pem(out.key.get());
  return out;
}

/// A CA certificate named `common_name`, signed by `issuer` (null: a root).
inline Issued issue_ca(const std::string& common_name, const Issued* issuer = nullptr) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.ca = true;
  spec.extended_key_usage.clear();
  spec.not_after_offset = 30L * 24 * 3600;
  return issue(spec, issuer);
}

/// A client certificate for `common_name` signed by `issuer`.
inline Issued issue_client(const std::string& common_name, const Issued& issuer) {
  CertSpec spec;
  spec.common_name = common_name;
  return issue(spec, &issuer);
}

}  // namespace albemu::testing
