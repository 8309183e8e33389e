#include "tests/integration/support/tls_backend.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace albemu::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

TlsBackend::TlsBackend(const TestCertificate& certificate)
    : ssl_context_(asio::ssl::context::tls_server), acceptor_(io_context_) {
  ssl_context_.use_certificate_chain(
      asio::buffer(certificate.certificate_pem.data(), certificate.certificate_pem.size()));
  ssl_context_.use_private_key(
      asio::buffer(certificate.private_key_pem.data(), certificate.private_key_pem.size()),
      asio::ssl::context::pem);
  // ALPN: http/1.1 when the client offers it (what a Cloud Run front end picks for HTTP/1.1).
  SSL_CTX_set_alpn_select_cb(
      ssl_context_.native_handle(),
      [](SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
         unsigned in_length, void*) {
        static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        unsigned char* selected = nullptr;
        if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof kHttp11, in, in_length) !=
            OPENSSL_NPN_NEGOTIATED) {
          return SSL_TLSEXT_ERR_NOACK;
        }
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
      },
      nullptr);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { accept_loop(); });
}

TlsBackend::~TlsBackend() {
  stopping_ = true;
  boost::system::error_code ignored;
  {
    // A blocking accept() does not return when the socket is closed: wake it with a connection.
    tcp::socket waker(io_context_);
    waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    if (accept_thread_.joinable()) accept_thread_.join();
  }
  acceptor_.close(ignored);
  {
    std::lock_guard lock(mutex_);
    for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  for (auto& thread : threads_) thread.join();
}

std::string TlsBackend::last_sni() const {
  std::lock_guard lock(mutex_);
  return last_sni_;
}

std::string TlsBackend::last_host() const {
  std::lock_guard lock(mutex_);
  return last_host_;
}

void TlsBackend::accept_loop() {
  while (!stopping_) {
    auto socket = std::make_shared<tcp::socket>(io_context_);
    boost::system::error_code ec;
    acceptor_.accept(*socket, ec);
    if (ec || stopping_) {
      if (stopping_) return;
      continue;
    }
    ++connections_;
    std::lock_guard lock(mutex_);
    sockets_.push_back(socket);
    threads_.emplace_back([this, socket] { serve(socket); });
  }
}

void TlsBackend::serve(std::shared_ptr<tcp::socket> socket) {
  asio::ssl::stream<tcp::socket&> stream(*socket, ssl_context_);
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::server, ec);
  if (ec) return;
  ++handshakes_;
  if (SSL_session_reused(stream.native_handle())) ++resumed_;
  const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &alpn, &alpn_length);
  beast::flat_buffer buffer;
  while (!stopping_) {
    http::request<http::string_body> request;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    ++requests_;
    const std::string host(request[http::field::host]);
    {
      std::lock_guard lock(mutex_);
      last_sni_ = sni ? sni : "";
      last_host_ = host;
    }
    http::response<http::string_body> response(http::status::ok, 11);
    response.set(http::field::content_type, "text/plain");
    response.body() =
        "tls backend\nsni: " + std::string(sni ? sni : "") + "\nhost: " + host +
        "\nalpn: " + std::string(reinterpret_cast<const char*>(alpn), alpn ? alpn_length : 0) +
        "\n";
    if (request.target() == "/until-close") {
      http::response_serializer<http::string_body> serializer(response);
      response.keep_alive(false);
      http::write(stream, serializer, ec);
      // No close_notify. Under the lock: the destructor shuts the sockets down under it.
      std::lock_guard lock(mutex_);
      socket->close(ec);
      return;
    }
    const bool keep_alive = request.keep_alive() && request.target() != "/close";
    response.keep_alive(keep_alive);
    response.prepare_payload();
    http::write(stream, response, ec);
    if (ec || !keep_alive) return;
  }
}

}  // namespace albemu::testing
