#include "proxy/net/http1_connection_base.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/log/metrics.h"

namespace albemu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Http1ConnectionBase::Http1ConnectionBase(Worker& worker, ConnectionInfo info)
    : worker_(worker), info_(std::move(info)), buffer_(kHeaderLimitBytes + 4096) {
  worker_.connections.fetch_add(1, std::memory_order_relaxed);
  if (auto* metrics = worker_.metrics()) metrics->connection_opened(worker_.index());
  worker_.add_session(*this);
}

Http1ConnectionBase::~Http1ConnectionBase() {
  // Nothing holds the connection any more, so no handler of its request is pending either:
  // the request can serve another connection.
  if (request_active()) request_->detach();
  worker_.give_back_request(std::move(request_));
  worker_.give_back_heads(std::move(heads_));
  worker_.give_back_chunk(std::move(chunk_));
  worker_.give_back_wire(std::move(wire_));
  worker_.connections.fetch_sub(1, std::memory_order_relaxed);
  if (auto* metrics = worker_.metrics()) metrics->connection_closed(worker_.index());
}

std::optional<std::uint64_t> Http1ConnectionBase::body_length() const {
  if (!parsing() || parser().chunked() || !parser().content_length()) return std::nullopt;
  return *parser().content_length();
}

char* Http1ConnectionBase::chunk_buffer() {
  if (!chunk_) chunk_ = worker_.take_chunk();
  return chunk_.get();
}

WireBuffers& Http1ConnectionBase::wire() {
  if (!wire_) wire_ = worker_.take_wire();
  return *wire_;
}

void Http1ConnectionBase::release_request_storage() {
  // Its handlers all ran: the connection reads its next request only after the request's
  // answer was written, its exchange finished and its body was read.
  if (!request_active()) worker_.give_back_request(std::move(request_));
  worker_.give_back_chunk(std::move(chunk_));
  worker_.give_back_heads(std::move(heads_));
  worker_.give_back_wire(std::move(wire_));
  // Empty, it frees its storage: the idle read prepares some only once bytes arrive
  // (read_idle).
  if (buffer_.size() == 0 || buffer_.capacity() > kIdleReadSize) buffer_.shrink_to_fit();
}

bool Http1ConnectionBase::can_keep_alive() const {
  if (!client_keep_alive_ || !request_->context().client_keep_alive || draining_) return false;
  if (!body_unread()) return true;
  if (body_malformed_) return false;
  // The client may hold the body back until it sees 100 Continue, and never send it.
  if (expect_continue_ && !continue_sent_) return false;
  // A chunked body of unknown size is read and dropped up to the same bound (see
  // Http1Connection::discard_body).
  if (parser().chunked()) return true;
  const auto left = parser().content_length_remaining();
  return left && *left <= kDiscardBodyLimit;
}

Http1ConnectionBase::Clock::duration Http1ConnectionBase::keepalive_timeout() {
  if (request_active() && request_->context().listener)
    return request_->context().listener->keepalive_timeout;
  const auto* plan = current_plan().first;
  return plan ? plan->keepalive_timeout : kDefaultKeepaliveTimeout;
}

// ---- the response

void Http1ConnectionBase::write_head(ResponseHead& head, std::string_view body, bool end,
                                     SizeHandler handler) {
  const unsigned status = head.result_int();
  head.version(version_);
  response_chunked_ = false;
  // Switching protocols: the backend's Connection: upgrade stands, and no body follows.
  if (status != 101) {
    keep_alive_ = can_keep_alive();
    const bool no_body =
        request_->context().is_head || status / 100 == 1 || status == 204 || status == 304;
    if (!no_body && head.count(http::field::content_length) != 1) {
      if (version_ == 11) {
        head.chunked(true);
        response_chunked_ = true;
      } else {
        keep_alive_ = false;  // an HTTP/1.0 client learns the end by the close
      }
    }
    // HTTP/1.1 keeps the connection by default; the backend's Connection field is gone (hop by
    // hop), so only closing or an HTTP/1.0 client needs one.
    if (version_ != 11 || !keep_alive_ || head.count(http::field::connection) != 0)
      head.keep_alive(keep_alive_);
  }
  WireBuffers& wire = this->wire();
  wire.head.clear();
  serialize_response_head(head, wire.head);
  wire.out.clear();
  wire.out.push_back(asio::buffer(wire.head));
  frame_body(wire, body, response_chunked_, end);
  send_wire(std::move(handler));
}

void Http1ConnectionBase::write_body(std::string_view body, bool end, SizeHandler handler) {
  WireBuffers& wire = this->wire();
  wire.out.clear();
  frame_body(wire, body, response_chunked_, end);
  if (wire.out.empty()) return handler({}, 0);  // the end of a body with a length
  send_wire(std::move(handler));
}

void Http1ConnectionBase::write_trailers(const HeadFields& trailers, SizeHandler handler) {
  // Only a chunked body has room for trailer fields; after any other they are dropped.
  if (!response_chunked_) return handler({}, 0);
  WireBuffers& wire = this->wire();
  wire.head.assign("0\r\n");
  trailers.append_to(wire.head);
  wire.head.append("\r\n", 2);
  wire.out.assign({asio::buffer(wire.head)});
  send_wire(std::move(handler));
}

// ---- the request head

void Http1ConnectionBase::prepare_head() {
  in_request_ = true;
  if (!heads_) heads_ = worker_.take_heads();
  heads_->request_parser.emplace(heads_->request);
  parser().header_limit(static_cast<std::uint32_t>(kHeaderLimitBytes));
  parser().field_limit(kMaxHeaderCount);
  parser().body_limit(boost::none);
  body_malformed_ = false;
  prefetched_ = 0;
  discarded_ = 0;
  skipped_empty_lines_ = 0;
  head_bytes_ = 0;
}

/// The parser takes only whole lines, so a folded field is always seen whole. Even short of
/// the whole head it may take the start line and some fields: those bytes leave the buffer.
boost::system::error_code Http1ConnectionBase::parse_buffered_head() {
  error_code ec;
  if (head_bytes_ == 0 && !skip_empty_lines()) return http::error::header_limit;
  if (buffer_.size() == 0) return http::error::need_more;
  const auto data = buffer_.data();
  const std::size_t used = parser().put_head(data, ec);
  if (!ec || ec == http::error::need_more) {
    if (has_obs_fold({static_cast<const char*>(data.data()), used})) ec = http::error::bad_value;
  }
  buffer_.consume(used);
  head_bytes_ += used;
  // Beast waits for CRLF CRLF before it parses a head, so a head ended by bare LFs would wait
  // for the header timeout: everything buffered belongs to the unfinished head.
  if (ec == http::error::need_more && has_bare_lf(buffer_view())) ec = http::error::bad_line_ending;
  return ec;
}

/// Drops the empty lines (CRLF) before a request line, as RFC 9112 2.2 asks a server to do for
/// at least one (some clients send a CRLF after a POST body). False past the head limit.
bool Http1ConnectionBase::skip_empty_lines() {
  const std::string_view bytes = buffer_view();
  std::size_t skipped = 0;
  while (bytes.substr(skipped, 2) == kCrlf) skipped += 2;
  buffer_.consume(skipped);
  skipped_empty_lines_ += skipped;
  return skipped_empty_lines_ <= kHeaderLimitBytes;
}

bool Http1ConnectionBase::on_head_parsed(error_code ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
    return false;
  }
  if (ec) {
    if (ec.category() != error_code(http::error::header_limit).category() &&
        ec != beast::error::timeout) {
      return false;  // a socket error: nobody to answer
    }
    core::ProxyError error = core::ProxyError::kMalformedRequest;
    if (ec == http::error::header_limit) error = core::ProxyError::kRequestHeaderTooLarge;
    if (ec == beast::error::timeout) error = core::ProxyError::kRequestHeaderTimeout;
    begin_request();
    request_->reject(error);
    return true;
  }
  switch (check_request_head(parser().get())) {
    case RequestHeadProblem::kNone:
      break;
    case RequestHeadProblem::kMalformed:
      begin_request();
      request_->reject(core::ProxyError::kMalformedRequest);
      return true;
    case RequestHeadProblem::kConnect:
      begin_request();
      request_->reject_connect();
      return true;
  }
  const bool body_whole = prefetch_body();
  begin_request();
  if (!body_whole) {
    request_->reject(core::ProxyError::kMalformedRequest);
  } else {
    request_->start();
  }
  return true;
}

/// Parses the body bytes that came with the head into the chunk, before anything is routed or
/// sent upstream: a body whose framing is already broken there (a chunk size that overflows,
/// say) is refused before the service sees any of the request. The piece is handed out by the
/// first read_body. False if the framing is broken.
bool Http1ConnectionBase::prefetch_body() {
  if (!body_unread()) return true;
  // Each put then parses every buffered chunk that fits the body buffer, not one step.
  parser().eager(true);
  if (buffer_.size() == 0) return true;
  auto& body = parser().get().body();
  body.data = chunk_buffer();
  body.size = kBodyChunkSize;
  const error_code ec = parse_buffered_body();
  if (ec && ec != http::error::need_more && ec != http::error::need_buffer) {
    body_malformed_ = true;
    return false;
  }
  prefetched_ = kBodyChunkSize - body.size;
  return true;
}

void Http1ConnectionBase::begin_request() {
  const auto& head = parser().get();
  version_ = head.version();
  client_keep_alive_ = parser().is_header_done() && parser().keep_alive();
  expect_continue_ = beast::iequals(head[http::field::expect], "100-continue");
  continue_sent_ = false;
  keep_alive_ = false;
  const auto [listener, url_map] = current_plan();
  if (!request_) request_ = worker_.take_request(*this);
  request_->begin(worker_.generation(), listener, url_map, head_bytes_);
}

// ---- the request body

/// With one check Beast lacks: a chunk line ended by a bare LF would have the parser wait for a
/// CRLF that never comes.
boost::system::error_code Http1ConnectionBase::parse_buffered_body() {
  error_code ec = http::error::need_more;
  if (buffer_.size() > 0) {
    const std::size_t used = parser().put(buffer_.data(), ec);
    buffer_.consume(used);
    // need_more leaves only an unfinished chunk line (or trailer) in the buffer.
    if (ec == http::error::need_more && parser().chunked() && has_bare_lf(buffer_view()))
      ec = http::error::bad_chunk;
  }
  return ec;
}

}  // namespace albemu::net
