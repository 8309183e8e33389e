#pragma once
// What albemu's control endpoints (the admin endpoint and the Compute API) share: a TCP
// listener on the caller's io_context, and the bearer-token check.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace albemu::admin {

/// Accepts connections on "HOST:PORT" until closed and hands each to `on_accept`. Transient
/// accept errors (EMFILE, ENOBUFS, ...) are retried shortly, so the endpoint never dies of them.
class ControlListener : public std::enable_shared_from_this<ControlListener> {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;

  ControlListener(boost::asio::io_context& io_context, OnAccept on_accept);

  /// Binds `host_port` ("127.0.0.1:9901", "[::1]:0"; an empty host is 127.0.0.1; port 0
  /// picks a free port) and starts accepting. Returns the error (bad address, bind failure).
  boost::system::error_code start(const std::string& host_port);
  void close();
  /// "ip:port" bound ("[ip]:port" for IPv6).
  const std::string& address() const { return address_; }

 private:
  boost::system::error_code open(const std::string& host_port);
  void do_accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  OnAccept on_accept_;
  std::string address_;
};

/// Whether `authorization` is `Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1).
/// The token comparison takes the same time wherever the first difference is.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace albemu::admin
