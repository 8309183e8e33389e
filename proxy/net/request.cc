#include "proxy/net/request.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <cassert>
#include <random>

#include "proxy/core/rate_limiter.h"
#include "proxy/core/url_map.h"
#include "proxy/net/http_date.h"
#include "proxy/net/upstream_exchange.h"

namespace albemu::net {

namespace http = boost::beast::http;
using boost::system::error_code;

bool is_malformed_body(const error_code& ec) {
  // The parser's verdicts on bad bytes; not a client that closed early (partial message).
  static const auto& parser_category = error_code(http::error::bad_chunk).category();
  return ec && ec.category() == parser_category && ec != http::error::partial_message &&
         ec != http::error::end_of_stream;
}

Request::Request(RequestStream& stream)
    : stream_(&stream), fault_timer_(stream.worker().io_context().get_executor()) {}

Request::Request(Worker& worker) : fault_timer_(worker.io_context().get_executor()) {}

void Request::attach(RequestStream& stream) {
  assert(!active_ && !exchange_);
  stream_ = &stream;
}

Request::~Request() {
  if (exchange_) exchange_->cancel();
}

// ---- head received

void Request::begin(std::shared_ptr<const Generation> generation,
                    const core::ListenerPlan* listener, const core::CompiledUrlMap* url_map,
                    std::size_t head_bytes) {
  Worker& worker = stream_->worker();
  active_ = true;
  worker.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
  ctx_.reset();
  ctx_.detailed_log = worker.access_log() != nullptr;
  ctx_.start = std::chrono::steady_clock::now();
  ctx_.generation = std::move(generation);
  ctx_.listener = listener;
  ctx_.url_map = url_map;
  const RequestHead& head = stream_->request_head();
  ctx_.is_head = head.method() == http::verb::head;
  ctx_.grpc = core::is_grpc_content_type(head[http::field::content_type]);
  begin_log(ctx_, stream_->connection(), head, head.method_string(), head.target(), head.version());
  ctx_.log.request_size = head_bytes;
}

void Request::start() {
  if (!ctx_.url_map) {
    // The forwarding rule was removed by a reload while this connection was open.
    ctx_.client_keep_alive = false;
    return answer_error(core::ProxyError::kFailedToPickBackend);
  }
  route();
}

void Request::reject(core::ProxyError error) {
  ctx_.client_keep_alive = false;
  answer_error(error);
}

void Request::reject_connect() {
  ctx_.client_keep_alive = false;
  auto& head = stream_->response_head();
  head.clear();
  head.start_response(404, {}, 11);
  local_body_.clear();
  ctx_.log.status_details.assign("route_not_found");
  send_local();
}

// ---- route

void Request::route() {
  const RequestHead& head = stream_->request_head();
  const ConnectionInfo& connection = stream_->connection();
  collect_header_views(head, ctx_.header_views);
  core::RouteRequest view;
  view.method = head.method_string();
  view.scheme = connection.https ? "https" : "http";
  view.host = head[http::field::host];
  view.target = head.target();
  view.listener_port = ctx_.listener->port;
  view.headers = ctx_.header_views;
  const auto draw = static_cast<uint32_t>(stream_->worker().rng()());
  ctx_.decision = ctx_.url_map->route(view, draw);
  ctx_.routed = true;

  if (ctx_.decision.action == core::RouteAction::kRedirect) {
    auto& response = stream_->response_head();
    response.clear();
    response.start_response(static_cast<unsigned>(ctx_.decision.status), {}, 11);
    response.set(http::field::location, ctx_.decision.location);
    local_body_.clear();
    route_log(ctx_);
    return send_local();
  }
  const auto* policy = ctx_.decision.policy;
  if (policy && policy->cors) {
    if (core::cors_preflight_response(*policy->cors, view.method, ctx_.header_views,
                                      ctx_.cors_headers)) {
      auto& response = stream_->response_head();
      response.clear();
      response.start_response(200, {}, 11);
      local_body_.clear();
      route_log(ctx_);
      return send_local();
    }
    core::cors_response_headers(*policy->cors, ctx_.header_views, ctx_.cors_headers);
  }
  resolve_backend(view.host, view.target);
}

/// Backend service -> serverless NEG -> Cloud Run service (and tag), from the client's host
/// and path as they came (URL masks read them before any rewrite).
void Request::resolve_backend(std::string_view host, std::string_view target) {
  const auto& snapshot = *ctx_.generation->snapshot;
  const std::string_view path = target.substr(0, target.find('?'));
  if (snapshot.resolver) {
    ctx_.target = snapshot.resolver->resolve(ctx_.decision.backend_service, host, path);
  }
  route_log(ctx_);
  if (!ctx_.target) return answer_error(core::ProxyError::kFailedToPickBackend);
  apply_security_policy(path);
}

// ---- security policy

void Request::apply_security_policy(std::string_view path) {
  const auto& snapshot = *ctx_.generation->snapshot;
  if (snapshot.rate_limiter && snapshot.rate_limiter->has_policy(ctx_.decision.backend_service)) {
    const ConnectionInfo& connection = stream_->connection();
    const ClientTlsInfo& tls = connection.tls_info();
    core::RateLimitKeyInputs inputs{connection.client_ip, ctx_.header_views,  path, tls.sni,
                                    tls.ja3_fingerprint,  tls.ja4_fingerprint};
    const auto verdict = snapshot.rate_limiter->check(ctx_.decision.backend_service, inputs,
                                                      std::chrono::steady_clock::now());
    if (verdict.policy_applied) {
      ctx_.log.enforced_security_policy = log::EnforcedSecurityPolicy{
          verdict.policy_name, verdict.rule_priority,  verdict.configured_action,
          verdict.outcome,     verdict.rate_limit_key, verdict.rate_limit_outcome};
    }
    if (verdict.preview) {
      const core::PreviewOutcome& preview = *verdict.preview;
      ctx_.log.preview_security_policy = log::EnforcedSecurityPolicy{
          preview.policy_name, preview.rule_priority,  preview.configured_action,
          preview.outcome,     preview.rate_limit_key, preview.rate_limit_outcome};
    }
    if (!verdict.allowed) {
      return answer_error(core::ProxyError::kDeniedBySecurityPolicy, verdict.deny_status);
    }
  }
  apply_fault_injection();
}

// ---- fault injection

void Request::apply_fault_injection() {
  const auto* policy = ctx_.decision.policy;
  if (policy && policy->fault_injection && policy->fault_injection->delay) {
    const auto& delay = *policy->fault_injection->delay;
    if (draw_percentage() < delay.percentage) {
      fault_timer_.expires_after(std::chrono::seconds(delay.fixed_delay.seconds) +
                                 std::chrono::nanoseconds(delay.fixed_delay.nanos));
      fault_timer_.async_wait([this, keep = stream_->keepalive()](error_code ec) {
        if (ec || !active_) return;  // aborted meanwhile
        after_fault_delay();
      });
      return;
    }
  }
  after_fault_delay();
}

void Request::after_fault_delay() {
  const auto* policy = ctx_.decision.policy;
  if (policy && policy->fault_injection && policy->fault_injection->abort) {
    const auto& abort = *policy->fault_injection->abort;
    if (draw_percentage() < abort.percentage) {
      return answer_error(core::ProxyError::kFaultAbort, static_cast<int>(abort.http_status));
    }
  }
  exchange();
}

double Request::draw_percentage() {
  return std::uniform_real_distribution<double>(0.0, 100.0)(stream_->worker().rng());
}

// ---- exchange

void Request::exchange() {
  transform_upstream_head(stream_->request_head(), ctx_, stream_->connection(),
                          !stream_->body_done());
  const auto* endpoints = ctx_.target->endpoints;
  if (!endpoints || endpoints->empty()) return serve_standin();
  exchange_ = std::make_shared<UpstreamExchange>(*this);
  exchange_->start();
}

/// The built-in stand-in: the body is read and counted, and the echo of the request as a
/// backend would have got it is the answer.
void Request::serve_standin() {
  standin_body_length_ = 0;
  auto& head = stream_->request_head();
  // The framing an upstream request would carry, so the echo shows it.
  if (const auto length = stream_->body_length()) {
    head.content_length(*length);
  } else if (!stream_->body_done()) {
    head.chunked(true);
  }
  read_standin_body();
}

void Request::read_standin_body() {
  if (stream_->body_done()) {
    const RequestHead& request = stream_->request_head();
    make_standin_response(stream_->response_head(), local_body_, ctx_, request.method_string(),
                          request.target(), request, standin_body_length_);
    return send_local();
  }
  stream_->read_body([this, keep = stream_->keepalive()](error_code ec, std::size_t n) {
    if (!active_) return;
    if (ec) return body_failed(ec);
    standin_body_length_ += n;
    ctx_.log.request_size += n;
    read_standin_body();
  });
}

// ---- response

void Request::prepare_response(ResponseHead& head, bool websocket_upgrade) {
  const VariableContext variables = stream_->connection().variables();
  transform_response(head, ctx_.routed ? &ctx_.decision : nullptr, &variables, websocket_upgrade);
  for (const auto& header : ctx_.cors_headers) head.set(header.name, header.value);
}

void Request::answer_error(core::ProxyError error, int configured_status, std::string_view reason) {
  make_error_response(stream_->response_head(), local_body_, ctx_, error, configured_status,
                      reason);
  send_local();
}

void Request::send_local() {
  auto& head = stream_->response_head();
  prepare_response(head, false);
  // RFC 9110 6.6.1: an origin server with a clock sends Date, and albemu is one here.
  if (head.count(http::field::date) == 0) head.set(http::field::date, http_date());
  const unsigned status = head.result_int();
  // As Beast's prepare_payload: every answer but 1xx, 204 and 304 says its length.
  if (status / 100 != 1 && status != 204 && status != 304) head.content_length(local_body_.size());
  ctx_.log.status = static_cast<int>(status);
  // A HEAD answer has the length of the body a GET would get, and no body.
  const std::string_view body = ctx_.is_head ? std::string_view() : local_body_;
  stream_->write_head(head, body, true,
                      [this, keep = stream_->keepalive()](error_code ec, std::size_t n) {
                        if (!active_) return;
                        ctx_.log.response_size += n;
                        if (ec) stream_->reset();
                        finish();
                      });
}

void Request::exchange_succeeded() {
  exchange_.reset();
  finish();
}

void Request::exchange_failed(core::ProxyError error, std::string_view reason) {
  const std::string kept(reason);  // it may live in the exchange, which ends here
  // Cancelled, a step of it still pending (a body write of a full-duplex relay) finds
  // nothing to do: the request, and later another one in its storage, is not its any more.
  if (exchange_) exchange_->cancel();
  exchange_.reset();
  answer_error(error, 0, kept);
}

void Request::exchange_aborted() {
  if (!active_) return;
  if (exchange_) exchange_->cancel();
  exchange_.reset();
  if (ctx_.log.status == 0) {
    const auto& info = core::error_info(core::ProxyError::kClientDisconnectedBeforeResponse);
    ctx_.log.proxy_status.assign(info.proxy_status);
    ctx_.log.status_details.assign(info.details);
  }
  stream_->reset();
  finish();
}

void Request::body_failed(error_code ec) {
  if (is_malformed_body(ec) && ctx_.log.status == 0 && ctx_.log.response_size == 0) {
    if (exchange_) exchange_->cancel();
    exchange_.reset();
    return answer_error(core::ProxyError::kMalformedRequest);
  }
  exchange_aborted();
}

void Request::abort() {
  fault_timer_.cancel();
  exchange_aborted();
}

void Request::detach() {
  if (exchange_) exchange_->cancel();
  exchange_.reset();
  if (!active_) return;
  active_ = false;
  Worker& worker = stream_->worker();
  finish_log(worker, ctx_);
  worker.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
}

// ---- log

void Request::finish() {
  if (!active_) return;
  active_ = false;
  Worker& worker = stream_->worker();
  finish_log(worker, ctx_);
  worker.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  stream_->request_done();
}

}  // namespace albemu::net
