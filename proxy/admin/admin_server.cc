#include "proxy/admin/admin_server.h"

#include <openssl/rand.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "proxy/admin/config_json.h"
#include "proxy/admin/console_page.h"
#include "proxy/admin/stats_json.h"
#include "proxy/control/control_listener.h"
#include "proxy/core/ascii.h"
#include "proxy/core/explain.h"

namespace albemu::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

/// application/x-www-form-urlencoded decoding ('+' is a space); bad escapes are kept as is.
std::string url_decode(std::string_view text) {
  return core::percent_decode(text, core::PlusSign::kSpace);
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    out.emplace_back(url_decode(pair.substr(0, equals)), equals == std::string_view::npos
                                                             ? std::string{}
                                                             : url_decode(pair.substr(equals + 1)));
  }
  return out;
}

struct Answer {
  http::status status = http::status::ok;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string www_authenticate;  // set on 401
  std::string content_security_policy;
};

/// What the endpoint needs of a request besides its method and target.
struct Caller {
  std::string_view authorization;  // the Authorization header, if any
  std::string_view origin;         // the Origin header, if any (browsers send it)
  std::string_view host;
};

/// A browser's write from another origin (a page the user visits posting to loopback).
bool cross_origin(const Caller& caller) {
  if (caller.origin.empty()) return false;
  return caller.origin != "http://" + std::string(caller.host);
}

/// 401 for a state-changing call without the admin token (empty `token`: none is required).
std::optional<Answer> refuse_unauthorized(std::string_view token, const Caller& caller) {
  if (token.empty() || control::bearer_matches(caller.authorization, token)) return std::nullopt;
  Answer answer{http::status::unauthorized, "text/plain; charset=utf-8",
                caller.authorization.empty()
                    ? "this call needs the admin token: Authorization: Bearer <token>\n"
                    : "the admin token does not match\n",
                caller.authorization.empty()
                    ? R"(Bearer realm="albemu-admin")"
                    : R"(Bearer realm="albemu-admin", error="invalid_token")"};
  return answer;
}

Answer json_answer(http::status status, const boost::json::value& value) {
  return {status, "application/json", boost::json::serialize(value) + "\n"};
}

Answer text_answer(http::status status, std::string body) {
  if (!body.empty() && body.back() != '\n') body += '\n';
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

/// A fresh CSP nonce: 16 random bytes in hex.
std::string make_nonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : bytes) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

/// The console page. Its inline script and style carry a per-response nonce, and the CSP allows
/// nothing else: no external script, style, image, font or frame, and fetches only to this origin.
Answer console_answer() {
  const std::string nonce = make_nonce();
  if (nonce.empty()) {
    return text_answer(http::status::internal_server_error, "no randomness for the CSP nonce");
  }
  Answer answer{http::status::ok, "text/html; charset=utf-8",
                render_console_page(embedded_console_page(), nonce)};
  answer.content_security_policy =
      "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
      "'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'";
  return answer;
}

Answer handle(const AdminHooks& hooks, std::string_view token, const Caller& caller,
              http::verb method, std::string_view target) {
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const bool get = method == http::verb::get || method == http::verb::head;

  if (path == "/healthz" && get) return text_answer(http::status::ok, "ok");
  if (path == "/" && get) return console_answer();
  if (path == "/stats" && get && hooks.metrics_totals) {
    boost::json::object out = stats_to_json(hooks.metrics_totals());
    if (hooks.listeners) {
      boost::json::object listeners;
      for (const auto& [rule, address] : hooks.listeners()) listeners[rule] = address;
      out["listeners"] = std::move(listeners);
    }
    return json_answer(http::status::ok, out);
  }
  if (path == "/ready" && get) {
    const auto snapshot = hooks.snapshot();
    if (!snapshot) return text_answer(http::status::service_unavailable, "no config is serving");
    const std::string error = hooks.last_reload_error();
    if (!error.empty()) {
      return text_answer(http::status::service_unavailable,
                         "the last config reload failed; generation " +
                             std::to_string(snapshot->generation) + " keeps serving:\n" + error);
    }
    return text_answer(http::status::ok, "ready");
  }
  if (path == "/metrics" && get) {
    return {http::status::ok, "text/plain; version=0.0.4; charset=utf-8", hooks.metrics_text()};
  }
  if (path == "/config" && get) {
    const auto snapshot = hooks.snapshot();
    boost::json::object out = snapshot ? config_to_json(snapshot->config) : boost::json::object{};
    out["generation"] = snapshot ? snapshot->generation : 0;
    const std::string error = hooks.last_reload_error();
    out["lastReloadError"] =
        error.empty() ? boost::json::value(nullptr) : boost::json::value(error);
    return json_answer(http::status::ok, out);
  }
  if (path == "/reload") {
    if (method != http::verb::post)
      return text_answer(http::status::method_not_allowed, "use POST");
    if (cross_origin(caller))
      return text_answer(http::status::forbidden, "cross-origin POST /reload is refused");
    if (auto refused = refuse_unauthorized(token, caller)) return std::move(*refused);
    const std::string error = hooks.reload();
    const auto snapshot = hooks.snapshot();
    boost::json::object out{{"generation", snapshot ? snapshot->generation : 0}};
    if (!error.empty()) {
      out["error"] = error;
      return json_answer(http::status::internal_server_error, out);
    }
    // Old generations still in memory, the one just replaced included.
    if (hooks.metrics_totals)
      out["retainedGenerations"] = hooks.metrics_totals().retained_generations;
    return json_answer(http::status::ok, out);
  }
  if (path == "/route" && get) {
    const auto snapshot = hooks.snapshot();
    if (!snapshot) return text_answer(http::status::service_unavailable, "no config is serving");
    core::ExplainRequest request;
    for (const auto& [name, value] : parse_query(query)) {
      if (name == "url") {
        request.url = value;
      } else if (name == "method") {
        request.method = value;
      } else if (name == "forwardingRule" || name == "forwarding_rule") {
        request.forwarding_rule = value;
      } else if (name == "header") {
        const std::size_t colon = value.find(':');
        if (colon == std::string::npos) {
          return text_answer(http::status::bad_request, "header must be 'Name: value': " + value);
        }
        std::string header_value = value.substr(colon + 1);
        header_value.erase(0, header_value.find_first_not_of(" \t"));
        request.headers.emplace_back(value.substr(0, colon), std::move(header_value));
      }
    }
    if (request.url.empty()) return text_answer(http::status::bad_request, "missing url=");
    const boost::json::object explanation = core::explain_route(*snapshot, request);
    const bool usage_error =
        explanation.at("error").is_string() && explanation.at("status").is_null();
    return json_answer(usage_error ? http::status::bad_request : http::status::ok, explanation);
  }
  return text_answer(http::status::not_found,
                     "not found; try / /healthz /ready /metrics /stats /config /route?url=... "
                     "POST /reload");
}

/// One admin request, answered synchronously on the io_context.
control::ControlResponse respond(const AdminHooks& hooks, std::string_view token,
                                 const control::ControlRequest& request) {
  const Caller caller{request[http::field::authorization], request[http::field::origin],
                      request[http::field::host]};
  Answer answer = handle(hooks, token, caller, request.method(), request.target());
  control::ControlResponse response(answer.status, request.version());
  response.set(http::field::server, "albemu-admin");
  response.set(http::field::content_type, answer.content_type);
  response.set(http::field::cache_control, "no-store");
  if (!answer.www_authenticate.empty())
    response.set(http::field::www_authenticate, answer.www_authenticate);
  if (!answer.content_security_policy.empty()) {
    response.set("Content-Security-Policy", answer.content_security_policy);
    response.set("X-Content-Type-Options", "nosniff");
  }
  response.keep_alive(request.keep_alive());
  response.body() = std::move(answer.body);
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io_context, AdminHooks hooks, std::string token) {
  // Requests are small (the largest is a /route query); 1 MiB is Beast's default body limit.
  listener_ = std::make_shared<control::ControlListener>(
      io_context,
      [hooks = std::move(hooks), token = std::move(token)](const control::ControlRequest& request) {
        return respond(hooks, token, request);
      },
      control::ControlLimits{std::chrono::seconds(60), 1024 * 1024});
}

AdminServer::~AdminServer() { stop(); }

error_code AdminServer::start(const std::string& host_port) { return listener_->start(host_port); }

void AdminServer::stop() { listener_->close(); }

std::string AdminServer::address() const { return listener_->address(); }

}  // namespace albemu::admin
