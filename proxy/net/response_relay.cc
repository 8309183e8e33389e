// UpstreamExchange, continued: the backend's answer back to the client.
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/net/request.h"
#include "proxy/net/upstream_exchange.h"

namespace albemu::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == beast::error_code(http::error::header_limit).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

/// The log's Proxy-Status when the backend closed the connection after the client already got
/// part of the response (the error table's row is for a close before any byte was sent).
constexpr std::string_view kClosedAfterPartialStatus =
    R"(error="connection_terminated"; details="backend_connection_closed_after_partial_response_sent")";

}  // namespace

/// The attempt ended with the response head, or with what kept it from coming.
void UpstreamExchange::take_response_head() {
  const error_code ec = head_error_;
  if (ec == beast::error::timeout) return attempt_failed(Failure::kTimeout);
  if (ec && is_parse_error(ec)) return attempt_failed(Failure::kMalformed);
  if (ec == boost::asio::error::connection_refused) return attempt_failed(Failure::kRefused);
  if (ec) {
    // A kept connection that ends without a byte of answer was most likely closed by the
    // backend while it idled.
    if (!upstream_->response_started() && replay_after_idle_close(false, replayable_)) {
      --attempts_;
      upstream_.reset();
      return attempt();
    }
    return attempt_failed(Failure::kClosed);
  }
  const auto& head = stream_.response_head();
  const int status = static_cast<int>(head.result_int());
  if (status == 101 && ctx_.websocket) return start_tunnel();
  if (may_retry(status, head)) {
    upstream_.reset();  // the unread answer makes the connection useless
    return attempt();
  }
  start_response();
}

void UpstreamExchange::start_response() {
  auto& head = stream_.response_head();
  request_.prepare_response(head, false);
  const int status = static_cast<int>(head.result_int());
  ctx_.log.status = status;
  // GCP's detail for a success answered before the whole request body was received.
  ctx_.log.status_details = early_response_ && status < 400
                                ? "backend_early_response_with_non_error_status"
                                : "response_sent_by_backend";
  head_pending_ = true;
  // Body bytes that came with the head (or no body at all): the first body write carries the
  // head too, one send instead of two. Otherwise the head goes out alone right away, so a
  // backend that streams slowly still lets the client see the status at once.
  if (upstream_->body_ready()) return relay_response_body();
  head_pending_ = false;
  stream_.write_head(head, {}, false, [self = shared_from_this()](error_code ec, std::size_t n) {
    self->on_response_written(ec, n, false);
  });
}

/// Backend body -> client, one piece at a time: the next read starts after the write ends.
void UpstreamExchange::relay_response_body() {
  arm_deadline(deadline_);
  upstream_->receive_body([self = shared_from_this()](error_code ec, std::size_t n, bool last) {
    self->on_response_piece(self->timeout_aware(ec), n, last);
  });
}

void UpstreamExchange::on_response_piece(error_code ec, std::size_t n, bool last) {
  if (cancelled_) return;
  if (ec) {
    const auto error = ec == beast::error::timeout ? core::ProxyError::kBackendTimeout
                       : is_parse_error(ec)
                           ? core::ProxyError::kBackendMalformedResponse
                           : core::ProxyError::kBackendConnectionClosedBeforeDataSent;
    // Nothing reached the client yet (the head waits for the first body bytes): it can still
    // get the error answer instead of a cut connection.
    if (head_pending_) {
      upstream_.reset();
      disarm_deadline();
      return request_.exchange_failed(error);
    }
    return response_cut_short(error);
  }
  if (n == 0 && !last) return relay_response_body();
  const std::string_view body(upstream_->body_piece(), n);
  // The last body write ends the response, unless trailer fields follow it.
  const bool end = last && relayed_trailers() == nullptr;
  auto written = [self = shared_from_this(), last](error_code ec, std::size_t n) {
    self->on_response_written(ec, n, last);
  };
  if (!head_pending_) return stream_.write_body(body, end, std::move(written));
  head_pending_ = false;
  stream_.write_head(stream_.response_head(), body, end, std::move(written));
}

const HeadFields* UpstreamExchange::relayed_trailers() const {
  // An HTTP/1.1 hop (backend service protocol HTTP or HTTPS) loses them as it does in GCP,
  // where a gRPC client then reports a stream closed without trailers.
  return ctx_.target->hop_http2 ? upstream_->trailers() : nullptr;
}

void UpstreamExchange::on_response_written(error_code ec, std::size_t n, bool last) {
  if (cancelled_) return;
  if (ec) return request_.exchange_aborted();
  ctx_.log.response_size += n;
  if (!last) return relay_response_body();
  if (const HeadFields* trailers = relayed_trailers(); trailers && !trailers_written_) {
    trailers_written_ = true;
    return stream_.write_trailers(*trailers,
                                  [self = shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_response_written(ec, n, true);
                                  });
  }
  finish();
}

void UpstreamExchange::finish() {
  disarm_deadline();
  // A body relay still running beside (HTTP/2) ends here: its pending steps find nothing to do.
  cancelled_ = true;
  upstream_->release();
  upstream_.reset();
  request_.exchange_succeeded();
}

/// The backend failed after part of the response reached the client: the only honest signal
/// left is resetting the client's stream.
void UpstreamExchange::response_cut_short(core::ProxyError error) {
  upstream_.reset();
  disarm_deadline();
  if (error == core::ProxyError::kBackendConnectionClosedBeforeDataSent) {
    ctx_.log.proxy_status = kClosedAfterPartialStatus;
    ctx_.log.status_details = "backend_connection_closed_after_partial_response_sent";
  } else {
    const auto& info = core::error_info(error);
    ctx_.log.proxy_status = info.proxy_status;
    ctx_.log.status_details = info.details;
  }
  request_.exchange_aborted();
}

}  // namespace albemu::net
