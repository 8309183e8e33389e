#pragma once
// TLS to Cloud Run services whose URL is https://: the client contexts that verify them, and
// the handshake that turns a pooled TCP connect into a TLS one.
//
// A context per distinct `caCertificateFile` (and one for the system trust store alone) is
// built with each generation on the main thread and only read by the workers: SSL_new on a
// shared SSL_CTX is thread-safe, and each SSL holds a reference to its SSL_CTX, so a pooled
// connection outlives the generation that opened it.

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config_error.h"
#include "config/model/resources.h"
#include "proxy/net/upstream_pool.h"
#include "proxy/net/upstream_request.h"

namespace albemu::net {

/// The client side of TLS to one set of trusted CAs.
class UpstreamTls {
 public:
  /// Main thread. Trusts the system store (set_default_verify_paths) plus the certificates in
  /// `ca_pem` (none when empty), verifies every peer, TLS 1.2 at least, ALPN http/1.1. Null if
  /// `ca_pem` holds no usable certificate.
  static std::shared_ptr<UpstreamTls> create(std::string_view ca_pem);

  boost::asio::ssl::context& context() { return context_; }
  /// Unique for the process's lifetime: connections verified with another context (an older
  /// generation's, or another CA file's) are pooled apart.
  std::uint64_t id() const { return id_; }

 private:
  UpstreamTls();
  boost::asio::ssl::context context_;
  std::uint64_t id_;
};

using UpstreamTlsContexts = std::map<std::string, std::shared_ptr<UpstreamTls>, std::less<>>;

/// Main thread, with each generation. The contexts `config`'s https:// services need, by the
/// resolved `caCertificateFile` ("" for the system trust store alone). A CA file whose PEM holds
/// no usable certificate is an error naming the service's field.
UpstreamTlsContexts build_upstream_tls(const model::Config& config, config::ConfigErrors& errors);

/// The errors of a failed certificate verification: the value is OpenSSL's X509_V_ERR_*, the
/// message its text ("Hostname mismatch", "unable to get local issuer certificate").
const boost::system::error_category& tls_verify_category();

/// What a failed connect says about TLS: a certificate that failed verification, another
/// handshake failure (protocol, alert, the peer closing), or nothing TLS (kNone).
enum class TlsFailure { kNone, kCertificate, kProtocol };
TlsFailure classify_tls_failure(const boost::system::error_code& ec);
/// The reason for the error body: "certificate verify failed: Hostname mismatch", or
/// OpenSSL's text of a handshake failure.
std::string tls_failure_reason(const boost::system::error_code& ec);

/// The endpoint's TLS settings from its host: SNI is the host name (none for an IP literal,
/// RFC 6066 section 3), and the certificate is checked against the name or the address.
void set_tls_peer(Endpoint& endpoint, std::uint64_t context_id);

/// Worker thread. Connects to `endpoint` through `pool` (its TCP connect), then handshakes
/// with `tls` by `deadline` (error::timeout past it). The handler runs exactly once, never
/// inline; a verification failure comes in tls_verify_category.
using TlsConnectHandler =
    std::move_only_function<void(boost::system::error_code, std::unique_ptr<TlsUpstreamStream>)>;
std::weak_ptr<PendingConnect> connect_tls(UpstreamPool& pool, const Endpoint& endpoint,
                                          UpstreamTls& tls,
                                          std::chrono::steady_clock::time_point deadline,
                                          TlsConnectHandler handler);

}  // namespace albemu::net
