#include "proxy/net/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace albemu::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;

namespace {

std::atomic<std::uint64_t> next_upstream_tls_id{1};

class TlsVerifyCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "albemu.tls_verify"; }
  std::string message(int value) const override {
    return X509_verify_cert_error_string(static_cast<long>(value));
  }
};

/// Adds every certificate of `pem` to `store`; the number added, or -1 on a PEM error.
int add_certificates(X509_STORE* store, std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    const int ok = X509_STORE_add_cert(store, cert);
    X509_free(cert);
    if (!ok) return -1;
    ++added;
  }
  // The loop ends on "no start line" once the text is used up; anything else is a bad PEM.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end =
      ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  return added > 0 && clean_end ? added : -1;
}

}  // namespace

UpstreamTls::UpstreamTls() : context_(ssl::context::tls_client), id_(next_upstream_tls_id++) {}

std::shared_ptr<UpstreamTls> UpstreamTls::create(std::string_view ca_pem) {
  std::shared_ptr<UpstreamTls> tls(new UpstreamTls());
  SSL_CTX* ctx = tls->context_.native_handle();
  error_code ec;
  // The system store: where a deployed *.run.app service's chain ends.
  tls->context_.set_default_verify_paths(ec);
  if (!ca_pem.empty() && add_certificates(SSL_CTX_get_cert_store(ctx), ca_pem) < 0) return nullptr;
  tls->context_.set_verify_mode(ssl::verify_peer);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  return tls;
}

UpstreamTlsContexts build_upstream_tls(const model::Config& config, config::ConfigErrors& errors) {
  UpstreamTlsContexts contexts;
  for (const model::CloudRunService& service : config.cloud_run_services) {
    bool https = false;
    auto any_https = [&](const std::vector<std::string>& urls) {
      for (const auto& url : urls) https = https || url.starts_with("https://");
    };
    any_https(service.urls);
    for (const auto& [tag, urls] : service.tags) any_https(urls);
    if (!https || contexts.contains(service.ca_certificate_file)) continue;
    auto tls = UpstreamTls::create(service.ca_certificate);
    if (!tls) {
      errors.push_back(
          {service.origin.file, "cloudRunServices[" + service.name + "].caCertificateFile",
           "'" + service.ca_certificate_file + "' holds no usable PEM CA certificate"});
      continue;
    }
    contexts.emplace(service.ca_certificate_file, std::move(tls));
  }
  return contexts;
}

const boost::system::error_category& tls_verify_category() {
  static const TlsVerifyCategory kCategory;
  return kCategory;
}

TlsFailure classify_tls_failure(const error_code& ec) {
  if (ec.category() == tls_verify_category()) return TlsFailure::kCertificate;
  if (ec.category() == asio::error::get_ssl_category() ||
      ec.category() == ssl::error::get_stream_category()) {
    return TlsFailure::kProtocol;
  }
  return TlsFailure::kNone;
}

std::string tls_failure_reason(const error_code& ec) {
  if (ec.category() == tls_verify_category()) return "certificate verify failed: " + ec.message();
  return ec.message();
}

void set_tls_peer(Endpoint& endpoint, std::uint64_t context_id) {
  error_code not_ip;
  asio::ip::make_address(endpoint.host, not_ip);
  endpoint.sni = not_ip ? endpoint.host : std::string();
  endpoint.pool_key = endpoint.key + '#' + std::to_string(context_id);
}

namespace {

/// A TCP connect, then a handshake; `done` makes the first result win.
struct PendingTlsConnect final : PendingConnect, std::enable_shared_from_this<PendingTlsConnect> {
  explicit PendingTlsConnect(TlsConnectHandler handler_in) : handler(std::move(handler_in)) {}

  void cancel() override {
    if (done) return;
    cancelled = true;
    if (auto pending = tcp_connect.lock()) return pending->cancel();  // its handler finishes
    // Handshaking: closing the socket ends it, and its handler finishes.
    if (stream) {
      error_code ignored;
      stream->next_layer().socket().close(ignored);
    }
  }

  void finish(error_code ec) {
    if (done) return;
    done = true;
    if (cancelled) ec = asio::error::operation_aborted;
    if (ec) stream.reset();
    auto callback = std::move(handler);
    callback(ec, std::move(stream));
  }

  void handshake(const Endpoint& endpoint, UpstreamTls& tls, SSL_SESSION* session,
                 std::chrono::steady_clock::time_point deadline,
                 std::unique_ptr<UpstreamStream> tcp) {
    stream = std::make_unique<TlsUpstreamStream>(std::move(*tcp), tls.context());
    SSL* ssl = stream->native_handle();
    // Resumes the endpoint's last session; the server may decline it and do a full handshake.
    if (session != nullptr) SSL_set_session(ssl, session);
    if (endpoint.sni.empty()) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, endpoint.sni.c_str());
      SSL_set1_host(ssl, endpoint.sni.c_str());
    }
    stream->next_layer().expires_at(deadline);
    stream->async_handshake(ssl::stream_base::client, [self = shared_from_this()](error_code ec) {
      if (self->done) return;
      if (self->stream) {
        self->stream->next_layer().expires_never();
        // The verify result says why a handshake failed on the certificate.
        const long verify = SSL_get_verify_result(self->stream->native_handle());
        if (ec && verify != X509_V_OK && ec != boost::beast::error::timeout) {
          ec = error_code(static_cast<int>(verify), tls_verify_category());
        }
      }
      self->finish(ec);
    });
  }

  TlsConnectHandler handler;
  std::weak_ptr<PendingConnect> tcp_connect;
  std::unique_ptr<TlsUpstreamStream> stream;
  bool cancelled = false;
  bool done = false;
};

}  // namespace

std::weak_ptr<PendingConnect> connect_tls(UpstreamPool& pool, const Endpoint& endpoint,
                                          UpstreamTls& tls,
                                          std::chrono::steady_clock::time_point deadline,
                                          TlsConnectHandler handler) {
  auto pending = std::make_shared<PendingTlsConnect>(std::move(handler));
  // `endpoint` and `tls` outlive the connect: the exchange and its pinned generation hold them.
  pending->tcp_connect = pool.acquire(
      endpoint, deadline,
      [pending, &pool, &endpoint, &tls, deadline](error_code ec,
                                                  std::unique_ptr<UpstreamStream> tcp) {
        pending->tcp_connect.reset();
        if (ec || pending->cancelled) return pending->finish(ec);
        pending->handshake(endpoint, tls, pool.tls_session(endpoint), deadline, std::move(tcp));
      });
  return pending;
}

}  // namespace albemu::net
