#include "proxy/api/api_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "proxy/control/control_listener.h"

namespace albemu::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr size_t kBodyLimit = 8 * 1024 * 1024;  // certificates with long chains fit

/// One API call: the Origin and token checks, then ComputeApi::handle, as compute's JSON.
control::ControlResponse respond(ComputeApi& api, const std::string& token,
                                 const control::ControlRequest& request) {
  ApiResponse answer;
  if (request.find(http::field::origin) != request.end()) {
    // API clients (client libraries, gcloud, curl) send no Origin; a browser sends it on
    // every cross-origin write. Refusing it keeps web pages the user visits from driving a
    // local API that takes no token.
    answer = api_error(403, "forbidden", "albemu's compute API refuses browser (Origin) requests");
  } else if (!token.empty() &&
             !control::bearer_matches(request[http::field::authorization], token)) {
    answer = api_error(401, "required",
                       request[http::field::authorization].empty()
                           ? "Request is missing required authentication credential. "
                             "Expected OAuth 2 access token, login cookie or other valid "
                             "authentication credential."
                           : "Request had invalid authentication credentials.");
  } else {
    const std::string_view target = request.target();
    const size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    answer = api.handle(std::string_view(request.method_string()), path, request.body(), query);
  }
  control::ControlResponse response(static_cast<http::status>(answer.status), request.version());
  response.set(http::field::server, "albemu-api");
  response.set(http::field::content_type, "application/json; charset=UTF-8");
  response.set(http::field::cache_control, "no-store");
  if (answer.status == 401)
    response.set(http::field::www_authenticate, R"(Bearer realm="albemu-api")");
  response.keep_alive(request.keep_alive());
  response.body() = boost::json::serialize(answer.body) + "\n";
  response.prepare_payload();
  return response;
}

}  // namespace

ApiServer::ApiServer(asio::io_context& io_context, ComputeApi& api, std::string token) {
  listener_ = std::make_shared<control::ControlListener>(
      io_context,
      [&api, token = std::move(token)](const control::ControlRequest& request) {
        return respond(api, token, request);
      },
      control::ControlLimits{std::chrono::seconds(120), kBodyLimit});
}

ApiServer::~ApiServer() { stop(); }

boost::system::error_code ApiServer::start(const std::string& host_port) {
  return listener_->start(host_port);
}

void ApiServer::stop() { listener_->close(); }

std::string ApiServer::address() const { return listener_->address(); }

}  // namespace albemu::api
