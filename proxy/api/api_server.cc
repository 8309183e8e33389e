#include "proxy/api/api_server.h"

#include <openssl/crypto.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>

namespace albemu::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr size_t kBodyLimit = 8 * 1024 * 1024;  // certificates with long chains fit

/// Whether `authorization` is `Bearer <token>`; compares in constant time.
bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  std::string_view presented = authorization.substr(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  return presented.size() == token.size() &&
         CRYPTO_memcmp(presented.data(), token.data(), token.size()) == 0;
}

class ApiSession : public std::enable_shared_from_this<ApiSession> {
 public:
  ApiSession(tcp::socket socket, ComputeApi& api, std::shared_ptr<const std::string> token)
      : stream_(std::move(socket)), api_(api), token_(std::move(token)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    const auto& request = parser_->get();
    ApiResponse answer;
    if (!token_->empty() && !bearer_matches(request[http::field::authorization], *token_)) {
      answer = api_error(401, "required",
                         request[http::field::authorization].empty()
                             ? "Request is missing required authentication credential. "
                               "Expected OAuth 2 access token, login cookie or other valid "
                               "authentication credential."
                             : "Request had invalid authentication credentials.");
    } else {
      const std::string_view target = request.target();
      const std::string_view path = target.substr(0, target.find('?'));
      answer = api_.handle(std::string_view(request.method_string()), path, request.body());
    }
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(answer.status), request.version());
    response->set(http::field::server, "albemu-api");
    response->set(http::field::content_type, "application/json; charset=UTF-8");
    response->set(http::field::cache_control, "no-store");
    if (answer.status == 401)
      response->set(http::field::www_authenticate, R"(Bearer realm="albemu-api")");
    response->keep_alive(request.keep_alive());
    response->body() = boost::json::serialize(answer.body) + "\n";
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](error_code write_ec, size_t) {
                        if (write_ec || !response->keep_alive()) {
                          error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                          return;
                        }
                        self->do_read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ComputeApi& api_;
  std::shared_ptr<const std::string> token_;
};

}  // namespace

class ApiServerImpl : public std::enable_shared_from_this<ApiServerImpl> {
 public:
  ApiServerImpl(asio::io_context& io_context, ComputeApi& api, std::string token)
      : acceptor_(io_context),
        retry_timer_(io_context),
        api_(api),
        token_(std::make_shared<const std::string>(std::move(token))) {}

  error_code open(const std::string& host_port) {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) return asio::error::invalid_argument;
    std::string host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    try {
      size_t used = 0;
      port = static_cast<unsigned>(std::stoul(host_port.substr(colon + 1), &used));
      if (used != host_port.size() - colon - 1 || port > 65535)
        return asio::error::invalid_argument;
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

  void do_accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) {
        // EMFILE, ENOBUFS...: transient. Retry shortly instead of spinning on the error.
        self->retry_timer_.expires_after(std::chrono::milliseconds(100));
        self->retry_timer_.async_wait([self](error_code wait_ec) {
          if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
        });
        return;
      }
      std::make_shared<ApiSession>(std::move(socket), self->api_, self->token_)->start();
      self->do_accept();
    });
  }

  void close() {
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  }

  const std::string& address() const { return address_; }

 private:
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  ComputeApi& api_;
  std::shared_ptr<const std::string> token_;
  std::string address_;
};

ApiServer::ApiServer(asio::io_context& io_context, ComputeApi& api, std::string token)
    : impl_(std::make_shared<ApiServerImpl>(io_context, api, std::move(token))) {}

ApiServer::~ApiServer() { stop(); }

boost::system::error_code ApiServer::start(const std::string& host_port) {
  if (const auto ec = impl_->open(host_port)) return ec;
  impl_->do_accept();
  return {};
}

void ApiServer::stop() { impl_->close(); }

std::string ApiServer::address() const { return impl_->address(); }

}  // namespace albemu::api
