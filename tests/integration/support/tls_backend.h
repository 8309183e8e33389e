#pragma once
// A small HTTPS backend for integration tests of https:// Cloud Run URLs: TLS with a given
// certificate, HTTP/1.1 with keep-alive, one thread per connection (blocking I/O). Every
// request is answered 200 with "sni: NAME" (empty without SNI), "host: VALUE" and
// "alpn: PROTOCOL" lines; it records the connections, the completed (and resumed) handshakes
// and the SNI and Host it last saw. "/close" answers with Connection: close; "/until-close"
// answers without a length and ends the body by closing the TCP connection, without TLS's
// close_notify.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {

class TlsBackend {
 public:
  explicit TlsBackend(const TestCertificate& certificate);
  ~TlsBackend();

  uint16_t port() const { return port_; }
  /// Connections accepted, and TLS handshakes that completed, so far.
  int connections() const { return connections_.load(); }
  int handshakes() const { return handshakes_.load(); }
  int requests() const { return requests_.load(); }
  /// Handshakes that resumed a session.
  int resumed() const { return resumed_.load(); }
  /// The SNI ("" for none) and Host of the last request.
  std::string last_sni() const;
  std::string last_host() const;

 private:
  void accept_loop();
  void serve(std::shared_ptr<boost::asio::ip::tcp::socket> socket);

  boost::asio::io_context io_context_;
  boost::asio::ssl::context ssl_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> handshakes_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> resumed_{0};
  mutable std::mutex mutex_;
  std::string last_sni_;
  std::string last_host_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
};

}  // namespace albemu::testing
