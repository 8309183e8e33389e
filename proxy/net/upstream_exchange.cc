#include "proxy/net/upstream_exchange.h"

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "proxy/core/url_map.h"
#include "proxy/net/socket_io.h"

namespace albemu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

/// Backend response head limit. Beast 1.81 throws std::length_error for a single field value
/// of 64 KiB or more; keeping the whole head below that turns such a response into a parse
/// error (502) instead of an exception.
constexpr std::uint32_t kResponseHeaderLimit = 60 * 1024;
/// Bytes asked of the socket per read of a response head.
constexpr std::size_t kResponseReadSize = 4096;

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::header_limit).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

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

/// The log's Proxy-Status when the backend closed the connection after the client already got
/// part of the response (the error table's row is for a close before any byte was sent).
constexpr std::string_view kClosedAfterPartialStatus =
    R"(error="connection_terminated"; details="backend_connection_closed_after_partial_response_sent")";

}  // namespace

UpstreamExchange::UpstreamExchange(ExchangeHost& host, std::shared_ptr<void> host_keepalive)
    : host_(host),
      host_keepalive_(std::move(host_keepalive)),
      ctx_(host.context()),
      wire_(host.wire()),
      deadline_timer_(host.worker().io_context().get_executor()) {}

UpstreamExchange::~UpstreamExchange() = default;

void UpstreamExchange::cancel() {
  cancelled_ = true;
  UpstreamPool::cancel(pending_acquire_);
  if (upstream_) upstream_->close();
}

void UpstreamExchange::start() {
  const auto* policy = ctx_.decision.policy;
  // start() runs after any fault-injection delay, so the delay does not count against the
  // route timeout; restart_deadline() moves the deadline again while the body arrives.
  restart_deadline();
  prepare_upstream_request();
  const auto* endpoints = ctx_.target->endpoints;
  if (!endpoints || endpoints->empty()) return serve_standin();

  const auto index = host_.worker().next_round_robin(endpoints) % endpoints->size();
  if (!parse_endpoint_url((*endpoints)[index], endpoint_)) {
    return host_.send_error(core::ProxyError::kFailedToConnectToBackend, 0);
  }
  auto& parser = host_.request_parser();
  idempotent_ = is_idempotent(request().method());
  replayable_ = host_.request_body_done();
  if (!replayable_ && policy && policy->retry && parser.content_length() &&
      *parser.content_length() <= kRetryBodyLimit) {
    buffered_body_.emplace();
    buffered_body_->reserve(*parser.content_length());
    replayable_ = true;
    return maybe_continue([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->host_.exchange_aborted();
      self->buffer_body_for_retry();
    });
  }
  do_attempt();
}

/// The upstream request head: the client's, with the route's target and the header rules.
void UpstreamExchange::prepare_upstream_request() {
  auto& request = this->request();
  client_version_ = request.version();
  ctx_.websocket = is_websocket_upgrade(request);
  request.version(11);
  if (!ctx_.decision.upstream_target.empty()) request.target(ctx_.decision.upstream_target);
  // albemu answers 100-continue itself (before reading the body), so the backend never sees
  // the expectation.
  request.erase(http::field::expect);
  const auto& connection = host_.connection();
  UpstreamRequestContext context{connection.client_ip, connection.local_ip, connection.https,
                                 &connection.variables};
  transform_upstream_request(request, ctx_.decision, context);
  auto& parser = host_.request_parser();
  if (parser.chunked()) {
    request.chunked(true);
  } else if (parser.content_length()) {
    request.content_length(*parser.content_length());
  }
}

void UpstreamExchange::maybe_continue(ExchangeHost::BodyHandler next) {
  if (ctx_.expect_continue && !ctx_.continue_sent && !host_.request_body_done()) {
    return host_.send_continue(std::move(next));
  }
  next({});
}

// ---- the built-in stand-in: consume and count the body, answer with the echo

void UpstreamExchange::serve_standin() {
  maybe_continue([self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->host_.exchange_aborted();
    self->read_standin_body();
  });
}

void UpstreamExchange::read_standin_body() {
  if (host_.request_body_done()) {
    LocalResponse response;
    make_standin_response(response, ctx_, request().method_string(), request().target(), request(),
                          standin_body_length_);
    return host_.send_local_response(std::move(response));
  }
  host_.read_request_body([self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (ec) return self->host_.exchange_aborted();
    self->standin_body_length_ += n;
    self->ctx_.log.request_size += n;
    self->read_standin_body();
  });
}

// ---- attempts

/// GCP starts the route timeout once the request has been fully received. While the client
/// body streams in, each piece restarts it (the client-side idle timeout bounds those reads),
/// so the last restart happens when the final piece arrived.
void UpstreamExchange::restart_deadline() {
  const auto* policy = ctx_.decision.policy;
  const auto now = Clock::now();
  ctx_.deadline = now + (policy ? policy->timeout : std::chrono::minutes(60));
  attempt_deadline_ = ctx_.deadline;
  if (policy && policy->retry && policy->retry->per_try_timeout) {
    attempt_deadline_ = std::min(attempt_deadline_, now + *policy->retry->per_try_timeout);
  }
}

void UpstreamExchange::arm_deadline(Clock::time_point deadline) {
  if (deadline_armed_ && deadline == armed_deadline_) return;
  deadline_armed_ = true;
  armed_deadline_ = deadline;
  const uint64_t generation = ++deadline_generation_;
  deadline_timer_.expires_at(deadline);
  // A weak reference: a pending wait must not keep a finished exchange (and its client
  // connection) alive until the deadline.
  deadline_timer_.async_wait([weak = weak_from_this(), generation](beast::error_code ec) {
    const auto self = weak.lock();
    if (ec || !self || generation != self->deadline_generation_) return;
    self->deadline_armed_ = false;
    self->timed_out_ = true;
    beast::error_code ignored;
    if (self->upstream_) self->upstream_->socket().cancel(ignored);
  });
}

void UpstreamExchange::disarm_deadline() {
  if (!deadline_armed_) return;
  deadline_armed_ = false;
  ++deadline_generation_;
  deadline_timer_.cancel();
}

beast::error_code UpstreamExchange::timeout_aware(beast::error_code ec) const {
  return timed_out_ && ec == asio::error::operation_aborted ? beast::error::timeout : ec;
}

void UpstreamExchange::buffer_body_for_retry() {
  if (host_.request_body_done()) return do_attempt();
  host_.read_request_body([self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (ec) return self->host_.exchange_aborted();
    self->buffered_body_->append(self->host_.chunk(), n);
    self->ctx_.log.request_size += n;
    self->restart_deadline();
    self->buffer_body_for_retry();
  });
}

void UpstreamExchange::do_attempt() {
  ++ctx_.attempts;
  attempt_deadline_ = ctx_.deadline;
  const auto* policy = ctx_.decision.policy;
  if (policy && policy->retry && policy->retry->per_try_timeout) {
    attempt_deadline_ = std::min(attempt_deadline_, Clock::now() + *policy->retry->per_try_timeout);
  }
  request_sent_ = false;
  // An idempotent request that can be sent again skips the liveness peek: should the backend
  // have closed the pooled connection, the first write or read fails and the attempt is
  // repeated. Any other request is never sent twice, so it checks the connection first.
  if (auto stream = host_.worker().pool().take_idle(endpoint_, !(replayable_ && idempotent_))) {
    return on_connect({}, UpstreamConnection{std::move(stream), true});
  }
  pending_acquire_ = host_.worker().pool().acquire(
      endpoint_, attempt_deadline_,
      [self = shared_from_this()](beast::error_code ec, UpstreamConnection connection) {
        self->on_connect(ec, std::move(connection));
      });
}

void UpstreamExchange::on_connect(beast::error_code ec, UpstreamConnection connection) {
  if (cancelled_) return host_.exchange_aborted();
  const uint32_t retry_on = ctx_.decision.policy && ctx_.decision.policy->retry
                                ? ctx_.decision.policy->retry->retry_on
                                : 0;
  if (ec == beast::error::timeout) {
    return attempt_failed(core::ProxyError::kBackendTimeout, retriable_timeout(retry_on));
  }
  if (ec) {
    return attempt_failed(core::ProxyError::kFailedToConnectToBackend,
                          retriable_connect_failure(retry_on));
  }
  upstream_ = std::move(connection.stream);
  upstream_reused_ = connection.reused;
  timed_out_ = false;
  early_response_ = false;
  upstream_buffer_.clear();
  ctx_.log.server_ip = endpoint_.key;
  write_request_head();
}

/// The head goes out in one write, together with a buffered body; a body still arriving from
/// the client follows piece by piece.
void UpstreamExchange::write_request_head() {
  wire_.request_head.clear();
  serialize_request_head(request(), wire_.request_head);
  request_chunked_ = request().chunked();
  wire_.out.clear();
  wire_.out.push_back(asio::buffer(wire_.request_head));
  if (buffered_body_ && !buffered_body_->empty())
    wire_.out.push_back(asio::buffer(*buffered_body_));
  arm_deadline(attempt_deadline_);
  write_eager(upstream_->socket(), wire_.out,
              [self = shared_from_this()](beast::error_code ec, std::size_t written) {
                if (self->cancelled_) return self->host_.exchange_aborted();
                if (ec) {
                  // A pooled connection the backend closed meanwhile: nothing was consumed
                  // yet, so this does not count as an attempt. A non-idempotent request is
                  // sent again only if no byte of it left.
                  if (self->upstream_reused_ && (self->idempotent_ || written == 0)) {
                    --self->ctx_.attempts;
                    self->upstream_.reset();
                    return self->do_attempt();
                  }
                  return self->attempt_failed(
                      core::ProxyError::kBackendConnectionClosedBeforeDataSent, false);
                }
                if (self->buffered_body_ || self->host_.request_body_done()) {
                  self->request_sent_ = true;
                  return self->read_response_head();
                }
                self->watch_for_early_response();
                self->relay_request_body();
              });
}

void UpstreamExchange::frame_body(const char* data, std::size_t size, bool chunked, bool last) {
  if (chunked && size > 0) {
    chunk_header_ = ChunkHeader(size);
    wire_.out.push_back(asio::buffer(chunk_header_.text()));
    wire_.out.push_back(asio::buffer(data, size));
    wire_.out.push_back(asio::buffer(kCrlf));
  } else if (size > 0) {
    wire_.out.push_back(asio::buffer(data, size));
  }
  if (chunked && last) wire_.out.push_back(asio::buffer(kLastChunk));
}

/// Client body → backend, one piece at a time: the next read starts after the write ends.
void UpstreamExchange::relay_request_body() {
  maybe_continue([self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->host_.exchange_aborted();
    if (self->early_response_) return self->read_response_head();
    self->client_read_pending_ = true;
    self->host_.read_request_body([self](beast::error_code ec, std::size_t n) {
      self->client_read_pending_ = false;
      self->ctx_.log.request_size += n;
      // The backend answered while this piece was read, and its answer went on at once: the
      // rest of the body is not sent (the client connection reads and drops it, or closes;
      // see can_keep_alive), and a client error now shows on the answer's writes.
      if (self->early_response_) return;
      if (ec) return self->host_.exchange_aborted();
      self->restart_deadline();
      const bool last = self->host_.request_body_done();
      if (n == 0 && !last) return self->relay_request_body();
      self->wire_.out.clear();
      self->frame_body(self->host_.chunk(), n, self->request_chunked_, last);
      if (self->wire_.out.empty()) {  // the end of a body with a length: nothing left to send
        self->request_sent_ = true;
        return self->read_response_head();
      }
      self->arm_deadline(self->attempt_deadline_);
      self->body_write_pending_ = true;
      asio::async_write(self->upstream_->socket(), self->wire_.out,
                        [self, last](beast::error_code ec, std::size_t) {
                          self->body_write_pending_ = false;
                          // An error: the backend may have answered early; read what it said.
                          if (ec) return self->read_response_head();
                          if (last) {
                            self->request_sent_ = true;
                            return self->read_response_head();
                          }
                          self->relay_request_body();
                        });
    });
  });
}

/// While the request body streams to the backend, a read waits for the backend to answer
/// early (a refused upload): Envoy passes such an answer on at once instead of waiting until
/// the body is sent, which a backend that stopped reading would never let happen. Interim
/// answers (100 Continue) are dropped here; a final head, or bytes that are none, end the upload.
void UpstreamExchange::watch_for_early_response() {
  watching_ = true;
  upstream_->socket().async_read_some(
      upstream_buffer_.prepare(kResponseReadSize),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->watching_ = false;
        self->upstream_buffer_.commit(n);
        if (self->head_wanted_) {  // the body is sent; the usual head read takes over
          self->head_wanted_ = false;
          return self->read_response_head();
        }
        // A close or an error: the next body write or the head read reports it.
        if (ec || self->cancelled_) return;
        for (;;) {
          http::response_parser<http::empty_body> peek;
          peek.header_limit(kResponseHeaderLimit);
          beast::error_code parse_ec;
          const auto used = peek.put(self->upstream_buffer_.data(), parse_ec);
          if (parse_ec == http::error::need_more) return self->watch_for_early_response();
          const auto status = peek.get().result_int();
          if (!parse_ec && peek.is_header_done() && status / 100 == 1 && status != 101) {
            self->upstream_buffer_.consume(used);
            if (self->upstream_buffer_.size() == 0) return self->watch_for_early_response();
            continue;
          }
          break;
        }
        self->early_response_ = true;
        // A body write the backend no longer reads would wait for the deadline: end it (its
        // handler reads the answer). A client that waits for the answer before it sends more
        // would keep a body read pending forever: the answer goes on now, beside that read.
        // (Otherwise a 100 Continue is being written, and the relay reads the answer next.)
        if (self->body_write_pending_) {
          beast::error_code ignored;
          self->upstream_->socket().cancel(ignored);
        } else if (self->client_read_pending_) {
          self->read_response_head();
        }
      });
}

void UpstreamExchange::read_response_head() {
  if (cancelled_) return host_.exchange_aborted();
  if (watching_) {
    // The early-response read is still pending: end it; its handler comes back here.
    head_wanted_ = true;
    beast::error_code ignored;
    upstream_->socket().cancel(ignored);
    return;
  }
  response_parser_.emplace(host_.response_head());
  response_parser_->header_limit(kResponseHeaderLimit);
  response_parser_->body_limit(boost::none);
  if (ctx_.is_head) response_parser_->skip(true);
  arm_deadline(attempt_deadline_);
  parse_response_head();
}

/// Parses the buffered bytes; reads more from the backend until the head is complete. (What
/// http::async_read_header does, without its composed-operation layers on every request.)
void UpstreamExchange::parse_response_head() {
  if (upstream_buffer_.size() > 0) {
    beast::error_code ec;
    const auto used = response_parser_->put_head(upstream_buffer_.data(), ec);
    upstream_buffer_.consume(used);
    if (ec != http::error::need_more) {
      if (ec || response_parser_->is_header_done()) return on_response_head(ec);
      if (used > 0) return parse_response_head();
    }
  }
  read_drained(upstream_->socket(), upstream_buffer_.prepare(kResponseReadSize),
               [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                 self->upstream_buffer_.commit(n);
                 if (ec == asio::error::eof) {
                   // As Beast reports it: nothing at all, or a head cut short.
                   ec = self->response_parser_->got_some() || self->upstream_buffer_.size() > 0
                            ? http::error::partial_message
                            : http::error::end_of_stream;
                 }
                 if (ec) return self->on_response_head(self->timeout_aware(ec));
                 self->parse_response_head();
               });
}

void UpstreamExchange::on_response_head(beast::error_code ec) {
  if (cancelled_) return host_.exchange_aborted();
  const auto* retry = ctx_.decision.policy ? &ctx_.decision.policy->retry : nullptr;
  const uint32_t retry_on = retry && *retry ? (*retry)->retry_on : 0;
  if (ec == beast::error::timeout) {
    return attempt_failed(core::ProxyError::kBackendTimeout, retriable_timeout(retry_on));
  }
  if (ec && is_parse_error(ec)) {
    return attempt_failed(core::ProxyError::kBackendMalformedResponse, false);
  }
  if (ec) {
    // A reused connection that ends without a byte of answer was most likely closed by the
    // backend while idle: an idempotent request goes again on a fresh connection.
    if (upstream_reused_ && replayable_ && idempotent_ && upstream_buffer_.size() == 0) {
      --ctx_.attempts;
      upstream_.reset();
      return do_attempt();
    }
    return attempt_failed(core::ProxyError::kBackendConnectionClosedBeforeDataSent,
                          retriable_reset(retry_on));
  }
  const int status = static_cast<int>(response_parser_->get().result_int());
  if (status == 101 && ctx_.websocket) return start_tunnel();
  // Interim answers (100 Continue, 102, 103 Early Hints) are dropped; the final one follows.
  // albemu answered the client's 100-continue itself.
  if (status / 100 == 1 && status != 101) return read_response_head();
  if (retry_on && retriable_status(retry_on, status, grpc_status_of(response_parser_->get())) &&
      replayable_ && ctx_.attempts <= (*retry)->num_retries && Clock::now() < ctx_.deadline) {
    upstream_.reset();  // the unread answer makes the connection useless
    return do_attempt();
  }
  start_response();
}

void UpstreamExchange::attempt_failed(core::ProxyError error, bool retriable) {
  upstream_.reset();
  const auto* policy = ctx_.decision.policy;
  if (retriable && replayable_ && policy && policy->retry &&
      ctx_.attempts <= policy->retry->num_retries && Clock::now() < ctx_.deadline) {
    return do_attempt();
  }
  host_.send_error(error, 0);
}

// ---- the response

void UpstreamExchange::start_response() {
  auto& response = this->response();
  response.version(client_version_);
  transform_response(response, &ctx_.decision, &host_.connection().variables, false);
  for (const auto& header : ctx_.cors_headers) response.set(header.name, header.value);

  const int status = static_cast<int>(response.result_int());
  const bool no_body = ctx_.is_head || status / 100 == 1 || status == 204 || status == 304;
  keep_alive_ = host_.can_keep_alive();
  if (!no_body) {
    if (response_parser_->content_length()) {
      // The backend's own Content-Length field stays as it is (setting it again would
      // replace it with the same value).
      if (response.count(http::field::content_length) != 1)
        response.content_length(*response_parser_->content_length());
    } else if (client_version_ == 11) {
      response.chunked(true);
    } else {
      keep_alive_ = false;  // an HTTP/1.0 client learns the end by the close
    }
  }
  // HTTP/1.1 keeps the connection by default; the backend's Connection field is gone (hop by
  // hop), so only closing or an HTTP/1.0 client needs one.
  if (client_version_ != 11 || !keep_alive_ || response.count(http::field::connection) != 0)
    response.keep_alive(keep_alive_);
  ctx_.log.status = status;
  // GCP's detail for a success answered before the whole request body was received.
  ctx_.log.status_details = early_response_ && status < 400
                                ? "backend_early_response_with_non_error_status"
                                : "response_sent_by_backend";

  wire_.response_head.clear();
  serialize_response_head(response, wire_.response_head);
  response_chunked_ = response.chunked();
  response_head_pending_ = true;
  // Body bytes that came with the head (or no body at all): the first body write carries the
  // head too, one send instead of two. Otherwise the head goes out alone right away, so a
  // backend that streams slowly still lets the client see the status at once.
  if (upstream_buffer_.size() > 0 || response_parser_->is_done()) return relay_response_body();
  wire_.out.assign({asio::buffer(wire_.response_head)});
  response_head_pending_ = false;
  host_.write_client(wire_.out, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (ec) return self->host_.exchange_aborted();
    self->ctx_.log.response_size += n;
    self->relay_response_body();
  });
}

/// Backend body → client, one piece at a time. Bytes already buffered (those that came with
/// the head) are parsed in place; only then does the next read go to the socket.
void UpstreamExchange::relay_response_body() {
  if (cancelled_) return host_.exchange_aborted();
  if (response_parser_->is_done()) return on_response_piece({}, 0);
  auto& body = response_parser_->get().body();
  body.data = host_.chunk();
  body.size = kBodyChunkSize;
  if (upstream_buffer_.size() > 0) {
    beast::error_code ec;
    const auto used = response_parser_->put(upstream_buffer_.data(), ec);
    upstream_buffer_.consume(used);
    // need_more: the buffered bytes end inside a chunk header; the socket brings the rest.
    if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
    if (ec || used > 0 || response_parser_->is_done())
      return on_response_piece(ec, kBodyChunkSize - body.size);
  }
  arm_deadline(ctx_.deadline);
  // read_some: whatever arrived is passed on at once, not held until the piece is full.
  http::async_read_some(upstream_->socket(), upstream_buffer_, *response_parser_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec == http::error::need_buffer) ec = {};
                          self->on_response_piece(
                              self->timeout_aware(ec),
                              kBodyChunkSize - self->response_parser_->get().body().size);
                        });
}

/// `n` body bytes of the response are in the chunk buffer (none if the body is complete).
void UpstreamExchange::on_response_piece(beast::error_code ec, std::size_t n) {
  if (cancelled_) return host_.exchange_aborted();
  if (ec) {
    const auto error = ec == beast::error::timeout ? core::ProxyError::kBackendTimeout
                       : is_parse_error(ec)
                           ? core::ProxyError::kBackendMalformedResponse
                           : core::ProxyError::kBackendConnectionClosedBeforeDataSent;
    // Nothing reached the client yet (the head waits for the first body bytes): it can still
    // get the error answer instead of a cut connection.
    if (response_head_pending_) {
      upstream_.reset();
      disarm_deadline();
      return host_.send_error(error, 0);
    }
    return response_cut_short(error);
  }
  const bool last = response_parser_->is_done();
  if (n == 0 && !last) return relay_response_body();
  wire_.out.clear();
  if (response_head_pending_) wire_.out.push_back(asio::buffer(wire_.response_head));
  response_head_pending_ = false;
  frame_body(host_.chunk(), n, response_chunked_, last);
  if (wire_.out.empty()) return finish(keep_alive_);
  host_.write_client(wire_.out,
                     [self = shared_from_this(), last](beast::error_code ec, std::size_t n) {
                       if (ec) return self->host_.exchange_aborted();
                       self->ctx_.log.response_size += n;
                       if (last) return self->finish(self->keep_alive_);
                       self->relay_response_body();
                     });
}

void UpstreamExchange::finish(bool keep_alive) {
  disarm_deadline();
  if (upstream_ && request_sent_ && response_parser_->keep_alive() &&
      upstream_buffer_.size() == 0 && !cancelled_) {
    host_.worker().pool().release(endpoint_, std::move(upstream_));
  }
  upstream_.reset();
  host_.exchange_done(keep_alive);
}

/// The backend failed after part of the response reached the client: the only honest signal
/// left is closing the client connection.
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
  host_.exchange_aborted();
}

}  // namespace albemu::net
