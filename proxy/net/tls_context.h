#pragma once
// Server TLS for one HTTPS listener: one OpenSSL context per certificate of the target proxy,
// the SSL policy (minimum version, profile ciphers), ALPN (h2, else http/1.1), and SNI certificate
// selection (spec section 0: exact SAN, then wildcard SAN, else the first certificate).

#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/snapshot.h"
#include "proxy/net/client_cert.h"
#include "proxy/net/tls_fingerprint.h"

namespace albemu::net {

/// Built once per snapshot on the main thread, then used read-only by every worker.
/// Sessions must hold the shared_ptr while their SSL stream lives: the SNI callback points
/// back to this object.
class ServerTls {
 public:
  /// Builds contexts for `plan.certificates` with `plan.ssl_policy`. On a bad PEM, a key
  /// that does not match its certificate, or an unknown profile/version, appends an error
  /// naming the certificate (or policy) and returns null.
  static std::shared_ptr<ServerTls> create(const core::ListenerPlan& plan,
                                           config::ConfigErrors& errors);

  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  /// The primary context (first certificate) with the SNI callback installed; build every
  /// downstream ssl::stream from it.
  boost::asio::ssl::context& context();

  /// Index (in proxy order) of the certificate served for `sni` ("" = no SNI).
  std::size_t select_certificate(std::string_view sni) const;

  std::size_t certificate_count() const { return certificates_.size(); }
  const std::string& certificate_name(std::size_t index) const { return certificates_[index].name; }

  /// The listener's mutual TLS (its target proxy's server TLS policy), or null.
  const ClientCertVerifier* client_verifier() const { return client_verifier_.get(); }

  /// The handshakes read the client's JA3 and JA4 fingerprints (`plan.tls_fingerprints`).
  bool computes_fingerprints() const { return computes_fingerprints_; }

  /// After a handshake on this listener: the client's fingerprints, moved out of the SSL
  /// (a second call gets them empty). Empty when the listener does not compute them, or the
  /// ClientHello did not parse.
  static TlsFingerprints take_fingerprints(SSL* ssl);

 private:
  struct Certificate {
    std::string name;
    std::vector<std::string> dns_names;  // SAN DNS names, else the CN; lower-cased
    std::unique_ptr<boost::asio::ssl::context> context;
  };

  ServerTls() = default;
  static int on_servername(SSL* ssl, int* alert, void* arg);
  static void on_handshake_message(int write_p, int version, int content_type, const void* buf,
                                   std::size_t length, SSL* ssl, void* arg);

  std::vector<Certificate> certificates_;
  std::shared_ptr<ClientCertVerifier> client_verifier_;
  bool computes_fingerprints_ = false;
};

/// The OpenSSL cipher list (TLS 1.2 and below) for a GCP SSL policy profile; empty if unknown.
std::string_view cipher_list_for_profile(std::string_view profile);

}  // namespace albemu::net
