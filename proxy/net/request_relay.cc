// UpstreamExchange, continued: the request to the backend, and the wait for its answer.
#include "proxy/net/request.h"
#include "proxy/net/upstream_exchange.h"

namespace albemu::net {

/// The head goes out in one write, together with a buffered body; a body still arriving from
/// the client follows piece by piece, while the response head is awaited.
void UpstreamExchange::send_head() {
  sending_body_ = false;
  body_write_pending_ = false;
  client_read_pending_ = false;
  head_received_ = false;
  head_error_ = {};
  early_response_ = false;
  duplex_ = false;
  const bool end = buffered_body_.has_value() || stream_.body_done();
  const std::string_view body = buffered_body_ ? std::string_view(*buffered_body_) : "";
  arm_deadline(attempt_deadline_);
  upstream_->send_head(stream_.request_head(), stream_.body_length(), body, end,
                       [self = shared_from_this(), end](error_code ec, std::size_t written) {
                         self->on_head_sent(ec, written, end);
                       });
}

void UpstreamExchange::on_head_sent(error_code ec, std::size_t written, bool end) {
  if (cancelled_) return;
  if (ec) {
    // No body piece was read from the client yet, so the request can always go again.
    if (replay_after_idle_close(written == 0, true)) {
      --attempts_;
      upstream_.reset();
      return attempt();
    }
    upstream_.reset();
    disarm_deadline();
    return request_.exchange_failed(core::ProxyError::kBackendConnectionClosedBeforeDataSent);
  }
  await_response_head();
  if (end) return;
  sending_body_ = true;
  relay_request_body();
}

/// Client body -> backend, one piece at a time: the next read starts after the write ends.
/// The route timeout starts once the request was received whole: while the client's next piece
/// is awaited (under the connection's idle timeout), it does not run.
void UpstreamExchange::relay_request_body() {
  disarm_deadline();
  client_read_pending_ = true;
  stream_.read_body(
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_body_piece(ec, n); });
}

void UpstreamExchange::on_body_piece(error_code ec, std::size_t n) {
  client_read_pending_ = false;
  if (cancelled_) return;
  ctx_.log.request_size += n;
  // The answer went on while this piece was read (on_response_head): it is not sent, nor the
  // rest of the body, which the client connection reads and drops or closes on.
  if (!sending_body_) return;
  if (ec) return request_.body_failed(ec);
  restart_deadline();
  const bool last = stream_.body_done();
  if (replay_copy_) keep_for_replay({stream_.body_piece(), n}, last);
  if (n == 0 && !last) return relay_request_body();
  arm_deadline(attempt_deadline_);
  body_write_pending_ = true;
  upstream_->send_body(
      {stream_.body_piece(), n}, last,
      [self = shared_from_this(), last](error_code ec) { self->on_body_sent(ec, last); });
}

void UpstreamExchange::keep_for_replay(std::string_view piece, bool last) {
  if (replay_copy_->size() + piece.size() > kRetryBodyLimit) {
    replay_copy_.reset();  // too large to replay: this attempt is the only one
    return;
  }
  replay_copy_->append(piece);
  if (!last) return;
  buffered_body_ = std::move(replay_copy_);
  replay_copy_.reset();
  replayable_ = true;
}

void UpstreamExchange::on_body_sent(error_code ec, bool last) {
  body_write_pending_ = false;
  if (cancelled_) return;
  if (duplex_) {  // the response relay runs beside: the body goes on until it is sent
    if (ec || last) {
      sending_body_ = false;
      return;
    }
    return relay_request_body();
  }
  if (head_received_) {  // the backend answered (or failed) meanwhile: that is what counts
    sending_body_ = false;
    return take_response_head();
  }
  // Sent whole, or the backend stopped taking it: the head that is awaited says what follows.
  if (ec || last) {
    sending_body_ = false;
    return;
  }
  relay_request_body();
}

void UpstreamExchange::await_response_head() {
  upstream_->receive_head(
      stream_.response_head(), ctx_.is_head,
      [self = shared_from_this()](error_code ec) { self->on_response_head(ec); });
}

/// While the request body streams to the backend, the response head is awaited all the same:
/// a backend that answers before it has the whole body (a refused upload) is answered at once,
/// as Envoy does, instead of when the body is sent, which a backend that stopped reading
/// would never let happen.
void UpstreamExchange::on_response_head(error_code ec) {
  if (cancelled_) return;
  head_received_ = true;
  head_error_ = timeout_aware(ec);
  // HTTP/2 carries both directions at once: a response that starts while the body is still
  // sent (a bidirectional gRPC call) is relayed beside it.
  if (sending_body_ && !head_error_ && upstream_->full_duplex()) {
    duplex_ = true;
    return take_response_head();
  }
  if (sending_body_) {
    early_response_ = !head_error_;
    // A body write the backend no longer takes would wait for the deadline: end it; its
    // handler takes the head.
    if (body_write_pending_) return upstream_->stop_sending();
    // A body read is pending, and a client may wait for the answer before it sends more: the
    // answer goes on beside that read, whose piece is dropped.
    sending_body_ = false;
  }
  take_response_head();
}

}  // namespace albemu::net
