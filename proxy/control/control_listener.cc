#include "proxy/control/control_listener.h"

#include <openssl/crypto.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <optional>

#include "proxy/net/http_date.h"

namespace albemu::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

/// One control connection: read a request, answer it, read the next while keep-alive holds.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(tcp::socket socket, std::shared_ptr<const ControlHandler> handler,
                 ControlLimits limits)
      : stream_(std::move(socket)), handler_(std::move(handler)), limits_(limits) {}

  void do_read() {
    parser_.emplace();
    parser_->body_limit(limits_.body_limit);
    stream_.expires_after(limits_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec) return self->shut_down();
                       self->answer();
                     });
  }

 private:
  void answer() {
    auto response = std::make_shared<ControlResponse>((*handler_)(parser_->get()));
    response->set(http::field::date, net::http_date());
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](error_code ec, std::size_t) {
                        if (ec || !response->keep_alive()) return self->shut_down();
                        self->do_read();
                      });
  }

  void shut_down() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const ControlHandler> handler_;
  ControlLimits limits_;
};

}  // namespace

ControlListener::ControlListener(asio::io_context& io_context, ControlHandler handler,
                                 ControlLimits limits)
    : acceptor_(io_context),
      retry_timer_(io_context),
      handler_(std::make_shared<const ControlHandler>(std::move(handler))),
      limits_(limits) {}

error_code ControlListener::start(const std::string& host_port) {
  if (const error_code ec = open(host_port)) return ec;
  do_accept();
  return {};
}

error_code ControlListener::open(const std::string& host_port) {
  const std::size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return asio::error::invalid_argument;
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  try {
    std::size_t used = 0;
    port = static_cast<unsigned>(std::stoul(host_port.substr(colon + 1), &used));
    if (used != host_port.size() - colon - 1 || port > 65535) return asio::error::invalid_argument;
  } catch (const std::exception&) {
    return asio::error::invalid_argument;
  }
  error_code ec;
  const auto address = asio::ip::make_address(host.empty() ? "127.0.0.1" : host, ec);
  if (ec) return ec;
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    return ec;
  }
  const auto local = acceptor_.local_endpoint(ec);
  const std::string ip = local.address().to_string();
  address_ = (local.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(local.port());
  return ec;
}

void ControlListener::do_accept() {
  acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;  // closed
    if (ec) {
      self->retry_timer_.expires_after(kAcceptRetryDelay);
      self->retry_timer_.async_wait([self](error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
    std::make_shared<ControlSession>(std::move(socket), self->handler_, self->limits_)->do_read();
    self->do_accept();
  });
}

void ControlListener::close() {
  error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  std::string_view presented = authorization.substr(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  return presented.size() == token.size() &&
         CRYPTO_memcmp(presented.data(), token.data(), token.size()) == 0;
}

}  // namespace albemu::control
