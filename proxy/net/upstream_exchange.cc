// UpstreamExchange: attempts, the route timeout and the retry rules.
#include "proxy/net/upstream_exchange.h"

#include <algorithm>
#include <boost/beast/core/error.hpp>
#include <charconv>

#include "proxy/core/url_map.h"
#include "proxy/net/request.h"

namespace albemu::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// RFC 9110 section 9.2.2. Only these are sent again when a reused connection turns out dead
/// after the request went out (as Envoy does): the backend may have acted on anything else.
bool is_idempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool retriable_status(uint32_t retry_on, int status, int grpc_status) {
  if ((retry_on & core::kRetryOn5xx) && status >= 500) return true;
  if ((retry_on & core::kRetryOnGatewayError) && (status == 502 || status == 503 || status == 504))
    return true;
  if ((retry_on & core::kRetryOnRetriable4xx) && status == 409) return true;
  // The gRPC conditions read the grpc-status response header, whatever the HTTP status.
  switch (grpc_status) {
    case 1:
      return (retry_on & core::kRetryOnCancelled) != 0;
    case 4:
      return (retry_on & core::kRetryOnDeadlineExceeded) != 0;
    case 8:
      return (retry_on & core::kRetryOnResourceExhausted) != 0;
    case 13:
      return (retry_on & core::kRetryOnInternal) != 0;
    case 14:
      return (retry_on & core::kRetryOnUnavailable) != 0;
    default:
      return false;
  }
}

int grpc_status_of(const HeadFields& fields) {
  const auto it = fields.find("grpc-status");
  if (it == fields.end()) return -1;
  const std::string_view value = it->value();
  int status = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), status);
  if (ec != std::errc() || end != value.data() + value.size()) return -1;
  return status;
}

UpstreamExchange::UpstreamExchange(Request& request)
    : request_(request),
      stream_(request.stream()),
      ctx_(request.context()),
      stream_keepalive_(request.stream().keepalive()) {}

UpstreamExchange::~UpstreamExchange() {
  stream_.worker().give_back_timer(std::move(deadline_timer_));
  for (auto& buffer : tunnel_buffers_) stream_.worker().give_back_chunk(std::move(buffer));
}

void UpstreamExchange::cancel() {
  cancelled_ = true;
  tunnel_closing_ = true;  // a tunnel's pending handlers find nothing left to relay
  if (auto pending = pending_connect_.lock()) pending->cancel();
  disarm_deadline();
  if (upstream_) upstream_->interrupt();
  upstream_.reset();
}

void UpstreamExchange::start() {
  // start() runs after any fault-injection delay, so the delay does not count against the
  // route timeout; restart_deadline() moves the deadline again while the body arrives.
  restart_deadline();
  const auto& endpoints = *ctx_.target->endpoints;
  const auto index = stream_.worker().next_round_robin(&endpoints) % endpoints.size();
  if (!parse_endpoint_url(endpoints[index], endpoint_)) {
    return request_.exchange_failed(core::ProxyError::kFailedToConnectToBackend);
  }
  endpoint_.h2c = ctx_.target->use_http2;
  if (endpoint_.https && !prepare_tls()) {
    return request_.exchange_failed(core::ProxyError::kFailedToConnectToBackend);
  }
  const auto* policy = ctx_.decision.policy;
  idempotent_ = is_idempotent(stream_.request_head().method());
  replayable_ = stream_.body_done();
  const auto length = stream_.body_length();
  if (!replayable_ && policy && policy->retry && length && *length <= kRetryBodyLimit) {
    buffered_body_.emplace();
    buffered_body_->reserve(*length);
    replayable_ = true;
    return buffer_body_for_retry();
  }
  if (!replayable_ && policy && policy->retry && !length) replay_copy_.emplace();
  attempt();
}

void UpstreamExchange::buffer_body_for_retry() {
  if (stream_.body_done()) return attempt();
  stream_.read_body([self = shared_from_this()](error_code ec, std::size_t n) {
    if (self->cancelled_) return;
    if (ec) return self->request_.body_failed(ec);
    self->buffered_body_->append(self->stream_.body_piece(), n);
    self->ctx_.log.request_size += n;
    self->restart_deadline();
    self->buffer_body_for_retry();
  });
}

// ---- deadlines

void UpstreamExchange::restart_deadline() {
  const auto* policy = ctx_.decision.policy;
  const auto now = Clock::now();
  deadline_ = now + (policy ? policy->timeout : std::chrono::minutes(60));
  attempt_deadline_ = deadline_;
  if (policy && policy->retry && policy->retry->per_try_timeout) {
    attempt_deadline_ = std::min(attempt_deadline_, now + *policy->retry->per_try_timeout);
  }
}

void UpstreamExchange::arm_deadline(Clock::time_point deadline) {
  if (deadline_armed_ && deadline == armed_deadline_) return;
  deadline_armed_ = true;
  armed_deadline_ = deadline;
  const uint64_t generation = ++deadline_generation_;
  if (!deadline_timer_) deadline_timer_ = stream_.worker().take_timer();
  deadline_timer_->expires_at(deadline);
  // A weak reference: a pending wait must not keep a finished exchange (and its client
  // connection) alive until the deadline, nor one whose timer went back to the worker.
  deadline_timer_->async_wait([weak = weak_from_this(), generation](error_code ec) {
    const auto self = weak.lock();
    if (ec || !self || generation != self->deadline_generation_) return;
    self->deadline_armed_ = false;
    self->timed_out_ = true;
    if (self->upstream_) self->upstream_->interrupt();
  });
}

void UpstreamExchange::disarm_deadline() {
  if (!deadline_armed_) return;
  deadline_armed_ = false;
  ++deadline_generation_;
  deadline_timer_->cancel();
}

boost::system::error_code UpstreamExchange::timeout_aware(error_code ec) const {
  return timed_out_ && ec == boost::asio::error::operation_aborted ? beast::error::timeout : ec;
}

bool UpstreamExchange::prepare_tls() {
  const auto& contexts = ctx_.generation->upstream_tls;
  const auto it = contexts.find(ctx_.target->ca_certificate_file);
  if (it == contexts.end()) return false;
  endpoint_.tls = it->second.get();
  set_tls_peer(endpoint_, endpoint_.tls->id());
  // A deployed service (https://svc-hash.a.run.app) is reached through Google's front end,
  // which routes by Host: it must name the service's URL, not the client's host, unless the
  // route rewrites it (hostRewrite). A local http:// container keeps the client's Host.
  if (ctx_.decision.upstream_host.empty()) {
    stream_.request_head().set(http::field::host, endpoint_.key);
  }
  return true;
}

// ---- attempts

void UpstreamExchange::attempt() {
  ++attempts_;
  attempt_deadline_ = deadline_;
  const auto* policy = ctx_.decision.policy;
  if (policy && policy->retry && policy->retry->per_try_timeout) {
    attempt_deadline_ = std::min(attempt_deadline_, Clock::now() + *policy->retry->per_try_timeout);
  }
  timed_out_ = false;
  // An idempotent request that can be sent again skips the liveness peek: should the backend
  // have closed the kept connection, the first write or read fails and the request goes again
  // (replay_after_idle_close). Any other request is never sent twice, so it checks first.
  auto& upstreams = stream_.worker().upstreams();
  if (auto upstream = upstreams.take_idle(endpoint_, !(replayable_ && idempotent_))) {
    return on_connect({}, std::move(upstream));
  }
  pending_connect_ = upstreams.connect(
      endpoint_, attempt_deadline_,
      [self = shared_from_this()](error_code ec, std::shared_ptr<UpstreamRequest> upstream) {
        self->on_connect(ec, std::move(upstream));
      });
}

void UpstreamExchange::on_connect(error_code ec, std::shared_ptr<UpstreamRequest> upstream) {
  if (cancelled_) return;
  if (ec == beast::error::timeout) return attempt_failed(Failure::kTimeout);
  tls_failure_ = classify_tls_failure(ec);
  if (tls_failure_ != TlsFailure::kNone) tls_failure_reason_ = tls_failure_reason(ec);
  if (ec) return attempt_failed(Failure::kConnect);
  upstream_ = std::move(upstream);
  ctx_.log.server_ip = endpoint_.key;
  send_head();
}

bool UpstreamExchange::retry_allowed() const {
  const auto* policy = ctx_.decision.policy;
  return policy && policy->retry && replayable_ && attempts_ <= policy->retry->num_retries &&
         Clock::now() < deadline_;
}

bool UpstreamExchange::may_retry(Failure failure) const {
  if (!retry_allowed()) return false;
  const uint32_t retry_on = ctx_.decision.policy->retry->retry_on;
  const uint32_t gateway = core::kRetryOn5xx | core::kRetryOnGatewayError;
  switch (failure) {
    case Failure::kConnect:
      return (retry_on & (gateway | core::kRetryOnConnectFailure | core::kRetryOnRefusedStream)) !=
             0;
    case Failure::kTimeout:
    case Failure::kClosed:
      // deadline-exceeded is a grpc-status condition (4), not a proxy-side timeout.
      return (retry_on & gateway) != 0;
    case Failure::kRefused:
      return (retry_on & (core::kRetryOn5xx | core::kRetryOnRefusedStream)) != 0;
    case Failure::kMalformed:
      return false;
  }
  return false;
}

bool UpstreamExchange::may_retry(int status, const ResponseHead& head) const {
  // grpc-status is looked up only when a retry could follow: most answers need no lookup.
  return retry_allowed() &&
         retriable_status(ctx_.decision.policy->retry->retry_on, status, grpc_status_of(head));
}

bool UpstreamExchange::replay_after_idle_close(bool nothing_sent, bool body_intact) const {
  return upstream_ && upstream_->reused() && body_intact && (nothing_sent || idempotent_);
}

void UpstreamExchange::attempt_failed(Failure failure) {
  upstream_.reset();
  if (may_retry(failure)) return attempt();
  disarm_deadline();
  switch (failure) {
    case Failure::kConnect:
      switch (tls_failure_) {
        case TlsFailure::kCertificate:
          return request_.exchange_failed(core::ProxyError::kBackendTlsCertificateError,
                                          tls_failure_reason_);
        case TlsFailure::kProtocol:
          return request_.exchange_failed(core::ProxyError::kBackendTlsProtocolError,
                                          tls_failure_reason_);
        case TlsFailure::kNone:
          break;
      }
      return request_.exchange_failed(core::ProxyError::kFailedToConnectToBackend);
    case Failure::kTimeout:
      return request_.exchange_failed(core::ProxyError::kBackendTimeout);
    case Failure::kClosed:
    case Failure::kRefused:
      return request_.exchange_failed(core::ProxyError::kBackendConnectionClosedBeforeDataSent);
    case Failure::kMalformed:
      return request_.exchange_failed(core::ProxyError::kBackendMalformedResponse);
  }
}

}  // namespace albemu::net
