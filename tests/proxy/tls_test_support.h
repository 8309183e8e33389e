#pragma once
// Test-only: in-process certificates (EC P-256): self-signed with chosen SAN DNS names, or a
// test CA and server certificates it signs, made with OpenSSL's APIs so tests need no files or
// external tools.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/proxy/pki_test_support.h"

namespace albemu::testing {

struct TestCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};

namespace detail {

inline std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace detail

/// A certificate for `common_name` with `dns_names` as subjectAltName DNS entries (none:
/// no SAN extension, so the CN is the only name). Valid from now for one day.
inline TestCertificate generate_self_signed(const std::string& common_name,
                                            const std::vector<std::string>& dns_names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (!dns_names.empty()) {
    std::string san;
    for (const std::string& dns : dns_names) {
      if (!san.empty()) san += ",";
      san += "DNS:" + dns;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* extension =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());

  TestCertificate out;
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  out.certificate_pem = detail::bio_to_string(cert_bio.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.private_key_pem = detail::bio_to_string(key_bio.get());
  return out;
}

namespace detail {

/// A certificate for `common_name` signed by `issuer` (null: self-signed), through the PKI
/// helpers of pki_test_support.h: a CA, or a server certificate (EKU serverAuth) with `san`.
inline TestCertificate make_certificate(const std::string& common_name, const std::string& san,
                                        bool is_ca, const TestCertificate* issuer) {
  CertSpec spec{.common_name = common_name, .ca = is_ca};
  spec.extended_key_usage = is_ca ? "" : "serverAuth";
  if (is_ca) spec.not_after_offset = 24 * 3600;
  for (std::size_t start = 0; !san.empty() && start <= san.size();) {
    const std::size_t comma = std::min(san.find(',', start), san.size());
    spec.subject_alt_names.push_back(san.substr(start, comma - start));
    start = comma + 1;
  }
  Issued signer;
  if (issuer != nullptr) {
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
        BIO_new_mem_buf(issuer->certificate_pem.data(), -1), BIO_free);
    signer.cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
        BIO_new_mem_buf(issuer->private_key_pem.data(), -1), BIO_free);
    signer.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  }
  const Issued made = issue(spec, issuer != nullptr ? &signer : nullptr);
  return TestCertificate{made.cert_pem, made.key_pem};
}

}  // namespace detail

/// A CA certificate (basicConstraints CA:TRUE) for signing test server certificates.
inline TestCertificate generate_ca(const std::string& common_name) {
  return detail::make_certificate(common_name, "", true, nullptr);
}

/// A server certificate signed by `ca`; `san` is an OpenSSL subjectAltName value such as
/// "DNS:localhost,IP:127.0.0.1".
inline TestCertificate generate_signed(const TestCertificate& ca, const std::string& common_name,
                                       const std::string& san) {
  return detail::make_certificate(common_name, san, false, &ca);
}

}  // namespace albemu::testing
