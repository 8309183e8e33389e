#pragma once
// Mutual TLS with clients: a target HTTPS proxy's server TLS policy and trust config as OpenSSL
// objects, the validation GCP documents for client certificates, and what a client's
// certificate tells the backend ({client_cert_*} header variables) and the access log
// (jsonPayload.mtls).

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model/resources.h"

namespace albemu::net {

/// What the client's certificate was found to be at the handshake; fixed for the connection.
/// Strings are in the forms GCP's mTLS header variables take.
struct ClientCertInfo {
  bool present = false;
  bool chain_verified = false;
  std::string error;               // GCP's client_cert_* strings, comma-separated; "" if none
  std::string sha256_fingerprint;  // Base64 of the SHA-256 of the leaf's DER
  std::string serial_number;       // lower-case hex, as Envoy prints it
  std::string spiffe_id;           // the URI SAN that starts with spiffe://
  std::string uri_sans;            // the other URI SANs, each Base64, comma-separated
  std::string dnsname_sans;        // DNS SANs, each Base64, comma-separated
  std::string valid_not_before;    // RFC 3339, e.g. 2022-07-01T18:05:09+00:00
  std::string valid_not_after;
  std::string issuer_dn;   // Base64 of the DER of the Issuer field
  std::string subject_dn;  // Base64 of the DER of the Subject field
  std::string leaf;        // RFC 9440 (:Base64 of DER:), only when the chain was verified
  std::string chain;       // the client's other certificates, RFC 9440, comma-separated; same

  bool operator==(const ClientCertInfo&) const = default;
};

/// A server TLS policy's client validation: built once per snapshot on the main thread, then
/// used read-only by every worker's handshakes (the contexts it configures point back at it).
class ClientCertVerifier {
 public:
  /// Builds the trust store of `trust_config` (may be null: ALLOW_INVALID_OR_MISSING_CLIENT_CERT
  /// without one validates nothing). A certificate that is not valid PEM is an error naming its
  /// field; returns null then.
  static std::shared_ptr<ClientCertVerifier> create(const model::ServerTlsPolicy& policy,
                                                    const model::TrustConfig* trust_config,
                                                    config::ConfigErrors& errors);
  ~ClientCertVerifier();
  ClientCertVerifier(const ClientCertVerifier&) = delete;
  ClientCertVerifier& operator=(const ClientCertVerifier&) = delete;

  /// REJECT_INVALID: a client without a valid certificate fails the handshake.
  bool reject_invalid() const { return reject_invalid_; }
  const std::string& policy_name() const { return policy_name_; }

  /// Makes `ctx` ask every client for a certificate and validate it here, during the
  /// handshake. Sessions are not resumed, so every connection is validated.
  void configure(SSL_CTX* ctx) const;

  /// After a handshake on a context configured here: what the client's certificate says.
  std::shared_ptr<const ClientCertInfo> inspect(SSL* ssl) const;

  /// Why a handshake on a context configured here failed on the client's certificate (GCP's
  /// client_cert_* string), or "" when it failed for another reason. `reason` is the
  /// handshake's OpenSSL error code (ERR_GET_REASON tells a missing certificate).
  std::string_view rejection(SSL* ssl, unsigned long reason) const;

  /// The validation alone, without a handshake: `leaf` and the other certificates the client
  /// sent. "" when valid, else GCP's error string. For tests and for the handshake callback.
  std::string_view validate(X509* leaf, STACK_OF(X509) * sent) const;

 private:
  ClientCertVerifier() = default;
  static int on_verify(X509_STORE_CTX* store_context, void* arg);

  bool reject_invalid_ = false;
  std::string policy_name_;
  bool has_trust_config_ = false;
  X509_STORE* store_ = nullptr;               // the trust anchors; null without a trust store
  STACK_OF(X509) * intermediates_ = nullptr;  // intermediateCas
  std::vector<std::string> allowlisted_der_;  // allowlistedCertificates, DER
};

}  // namespace albemu::net
