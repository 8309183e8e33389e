#include "proxy/api/api_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "proxy/admin/control_listener.h"

namespace albemu::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr size_t kBodyLimit = 8 * 1024 * 1024;  // certificates with long chains fit

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
    if (request.find(http::field::origin) != request.end()) {
      // API clients (client libraries, gcloud, curl) send no Origin; a browser sends it on
      // every cross-origin write. Refusing it keeps web pages the user visits from driving a
      // local API that takes no token.
      answer =
          api_error(403, "forbidden", "albemu's compute API refuses browser (Origin) requests");
    } else if (!token_->empty() &&
               !admin::bearer_matches(request[http::field::authorization], *token_)) {
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

ApiServer::ApiServer(asio::io_context& io_context, ComputeApi& api, std::string token) {
  auto shared_token = std::make_shared<const std::string>(std::move(token));
  listener_ = std::make_shared<admin::ControlListener>(
      io_context, [&api, shared_token](tcp::socket socket) {
        std::make_shared<ApiSession>(std::move(socket), api, shared_token)->start();
      });
}

ApiServer::~ApiServer() { stop(); }

boost::system::error_code ApiServer::start(const std::string& host_port) {
  return listener_->start(host_port);
}

void ApiServer::stop() { listener_->close(); }

std::string ApiServer::address() const { return listener_->address(); }

}  // namespace albemu::api
