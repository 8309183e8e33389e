#pragma once
// What albemu's control endpoints (the admin endpoint and the Compute API) share: an HTTP/1.1
// listener on the caller's io_context that answers each request with a handler, and the
// bearer-token check.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace albemu::control {

using ControlRequest = boost::beast::http::request<boost::beast::http::string_body>;
using ControlResponse = boost::beast::http::response<boost::beast::http::string_body>;
/// Answers one request synchronously on the listener's io_context. The response's keep_alive
/// decides whether its connection reads another request.
using ControlHandler = std::function<ControlResponse(const ControlRequest&)>;

struct ControlLimits {
  std::chrono::seconds idle_timeout;  // for a whole request to arrive
  std::size_t body_limit;
};

/// Accepts connections on "HOST:PORT" until closed and answers their requests with `handler`.
/// Transient accept errors (EMFILE, ENOBUFS, ...) are retried shortly, so the endpoint never
/// dies of them. Open connections end after their current request once closed.
class ControlListener : public std::enable_shared_from_this<ControlListener> {
 public:
  ControlListener(boost::asio::io_context& io_context, ControlHandler handler,
                  ControlLimits limits);

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
  std::shared_ptr<const ControlHandler> handler_;
  ControlLimits limits_;
  std::string address_;
};

/// Whether `authorization` is `Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1).
/// The token comparison takes the same time wherever the first difference is.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace albemu::control
