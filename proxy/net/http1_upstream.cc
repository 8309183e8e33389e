#include "proxy/net/http1_upstream.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/net/socket_io.h"
#include "proxy/net/upstream_tls.h"
#include "proxy/net/worker.h"

namespace albemu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

/// Backend response head limit. Beast 1.81 throws std::length_error for a single field value
/// of 64 KiB or more; keeping the whole head below that turns such a response into a parse
/// error (502) instead of an exception.
constexpr std::uint32_t kResponseHeaderLimit = 60 * 1024;
/// Bytes asked of the socket per read of a response head.
constexpr std::size_t kResponseReadSize = 4096;

}  // namespace

Http1Upstream::Http1Upstream(Worker& worker, const Endpoint& endpoint,
                             std::unique_ptr<UpstreamStream> stream, bool reused)
    : worker_(worker),
      endpoint_(endpoint),
      stream_(std::move(stream)),
      reused_(reused),
      wire_(worker.take_wire()) {}

Http1Upstream::Http1Upstream(Worker& worker, const Endpoint& endpoint,
                             std::unique_ptr<TlsUpstreamStream> stream, bool reused)
    : worker_(worker),
      endpoint_(endpoint),
      tls_(std::move(stream)),
      reused_(reused),
      wire_(worker.take_wire()) {}

Http1Upstream::~Http1Upstream() {
  worker_.give_back_chunk(std::move(chunk_));
  worker_.give_back_wire(std::move(wire_));
  if (connected()) tcp().close();
}

template <class Fn>
void Http1Upstream::post_aborted(Fn handler) {
  asio::post(tcp().get_executor(),
             [self = shared_from_this(), handler = std::move(handler)]() mutable {
               handler(asio::error::operation_aborted);
             });
}

// ---- the request

void Http1Upstream::send_head(RequestHead& head, std::optional<std::uint64_t> body_length,
                              std::string_view body, bool end, SizeHandler handler) {
  head.version(11);
  // The client's Transfer-Encoding is gone (hop by hop): the framing is albemu's own.
  request_chunked_ = !body_length && !end;  // a body of unknown length follows
  if (body_length) {
    head.content_length(*body_length);
  } else if (request_chunked_) {
    head.chunked(true);
  }
  wire_->head.clear();
  serialize_request_head(head, wire_->head);
  wire_->out.assign({asio::buffer(wire_->head)});
  frame_body(*wire_, body, request_chunked_, end);
  auto on_written = [self = shared_from_this(), end, handler = std::move(handler)](
                        error_code ec, std::size_t written) mutable {
    if (!ec && end) self->request_sent_ = true;
    handler(ec, written);
  };
  if (tls_) return asio::async_write(*tls_, wire_->out, std::move(on_written));
  write_eager(stream_->socket(), wire_->out, std::move(on_written));
}

void Http1Upstream::send_body(std::string_view piece, bool end, Handler handler) {
  if (interrupted_ || sending_stopped_) return post_aborted(std::move(handler));
  wire_->out.clear();
  frame_body(*wire_, piece, request_chunked_, end);
  if (wire_->out.empty()) {  // the end of a body with a length: nothing left to send
    request_sent_ = end;
    return asio::post(tcp().get_executor(),
                      [handler = std::move(handler)]() mutable { handler({}); });
  }
  auto on_written = [self = shared_from_this(), end, handler = std::move(handler)](
                        error_code ec, std::size_t) mutable {
    if (!ec && end) self->request_sent_ = true;
    handler(ec);
  };
  if (tls_) return asio::async_write(*tls_, wire_->out, std::move(on_written));
  asio::async_write(stream_->socket(), wire_->out, std::move(on_written));
}

// ---- the response head

void Http1Upstream::receive_head(ResponseHead& head, bool head_request, Handler handler) {
  response_ = &head;
  head_request_ = head_request;
  head_handler_ = std::move(handler);
  parser_.emplace(head);
  parser_->header_limit(kResponseHeaderLimit);
  parser_->body_limit(boost::none);
  if (head_request_) parser_->skip(true);
  error_code ec;
  if (buffer_.size() > 0 && parse_head(ec)) {
    return asio::post(tcp().get_executor(), [self = shared_from_this(), ec] {
      std::exchange(self->head_handler_, {})(ec);
    });
  }
  read_head();
}

/// What http::async_read_header does, without its composed-operation layers on every request,
/// and with interim answers dropped.
bool Http1Upstream::parse_head(error_code& ec) {
  while (buffer_.size() > 0) {
    ec = {};
    const auto used = parser_->put_head(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) return false;
      continue;
    }
    if (ec) return true;
    if (!parser_->is_header_done()) continue;
    // Interim answers (100 Continue, 102, 103 Early Hints) are dropped; the final one follows.
    // albemu answers a client's 100-continue itself.
    const unsigned status = response_->result_int();
    if (status / 100 == 1 && status != 101) {
      parser_.emplace(*response_);
      parser_->header_limit(kResponseHeaderLimit);
      parser_->body_limit(boost::none);
      if (head_request_) parser_->skip(true);
      continue;
    }
    // The backend's own Content-Length stays as it came, unless it came twice (the same
    // value, or Beast would have refused it): then once.
    if (const auto length = parser_->content_length();
        length && response_->count(http::field::content_length) != 1) {
      response_->content_length(*length);
    }
    return true;
  }
  return false;
}

void Http1Upstream::read_head() {
  if (interrupted_) {
    return post_aborted(
        [self = shared_from_this()](error_code ec) { std::exchange(self->head_handler_, {})(ec); });
  }
  auto on_read = [self = shared_from_this()](error_code ec, std::size_t n) {
    self->buffer_.commit(n);
    if (n > 0) self->response_started_ = true;
    // A TLS backend that closes without close_notify: the same end of the stream.
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      // As Beast reports it: nothing at all, or a head cut short.
      ec = self->parser_->got_some() || self->buffer_.size() > 0 ? http::error::partial_message
                                                                 : http::error::end_of_stream;
    }
    if (!ec && !self->parse_head(ec)) return self->read_head();
    std::exchange(self->head_handler_, {})(ec);
  };
  if (tls_) return tls_->async_read_some(buffer_.prepare(kResponseReadSize), std::move(on_read));
  read_drained(stream_->socket(), buffer_.prepare(kResponseReadSize), std::move(on_read));
}

std::optional<std::uint64_t> Http1Upstream::response_length() const {
  if (!parser_ || !parser_->content_length()) return std::nullopt;
  return *parser_->content_length();
}

// ---- the response body

bool Http1Upstream::body_ready() const { return parser_->is_done() || buffer_.size() > 0; }

bool Http1Upstream::parse_body(error_code& ec, std::size_t& n) {
  auto& body = response_->body();
  ec = {};
  const auto used = parser_->put(buffer_.data(), ec);
  buffer_.consume(used);
  // need_more: the buffered bytes end inside a chunk header; the socket brings the rest.
  if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
  n = kBodyChunkSize - body.size;
  return ec || used > 0 || parser_->is_done();
}

void Http1Upstream::receive_body(BodyHandler handler) {
  if (!chunk_) chunk_ = worker_.take_chunk();
  auto& body = response_->body();
  body.data = chunk_.get();
  body.size = kBodyChunkSize;
  if (parser_->is_done()) return handler({}, 0, true);
  if (buffer_.size() > 0) {
    error_code ec;
    std::size_t n = 0;
    if (parse_body(ec, n)) return handler(ec, n, parser_->is_done());
  }
  if (interrupted_) {
    return post_aborted(
        [handler = std::move(handler)](error_code ec) mutable { handler(ec, 0, false); });
  }
  // read_some: whatever arrived is passed on at once, not held until the piece is full.
  auto on_read = [self = shared_from_this(), handler = std::move(handler)](error_code ec,
                                                                           std::size_t) mutable {
    if (ec == http::error::need_buffer) ec = {};
    // A body that ends with the connection, from a TLS backend that closes without
    // close_notify: the end of the body, as a plain connection's end of stream is.
    if (ec == asio::ssl::error::stream_truncated && self->parser_->need_eof()) {
      ec = {};
      self->parser_->put_eof(ec);
    }
    handler(ec, kBodyChunkSize - self->response_->body().size, !ec && self->parser_->is_done());
  };
  if (tls_) return http::async_read_some(*tls_, buffer_, *parser_, std::move(on_read));
  http::async_read_some(stream_->socket(), buffer_, *parser_, std::move(on_read));
}

// ---- the connection

void Http1Upstream::interrupt() {
  interrupted_ = true;
  if (!connected()) return;
  error_code ignored;
  tcp().socket().cancel(ignored);
}

void Http1Upstream::stop_sending() {
  sending_stopped_ = true;
  // Only the body write is pending here: the response head was read whole.
  error_code ignored;
  tcp().socket().cancel(ignored);
}

void Http1Upstream::release() {
  if (tls_ && parser_ && parser_->is_done()) worker_.pool().keep_tls_session(endpoint_, *tls_);
  if (connected() && request_sent_ && parser_ && parser_->is_done() && parser_->keep_alive() &&
      buffer_.size() == 0) {
    if (tls_ && SSL_pending(tls_->native_handle()) == 0) {
      worker_.pool().release_tls(endpoint_, std::move(tls_));
    } else if (stream_) {
      worker_.pool().release(endpoint_, std::move(stream_));
    }
  }
  stream_.reset();
  tls_.reset();
}

// ---- after a 101

std::string_view Http1Upstream::tunnel_pending() {
  return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
}

void Http1Upstream::read_tunnel(char* data, std::size_t size, Deadline deadline,
                                SizeHandler handler) {
  if (interrupted_) {
    return post_aborted([handler = std::move(handler)](error_code ec) mutable { handler(ec, 0); });
  }
  tcp().expires_at(deadline);
  auto on_read = [self = shared_from_this(), handler = std::move(handler)](
                     error_code ec, std::size_t n) mutable { handler(ec, n); };
  if (tls_) return tls_->async_read_some(asio::buffer(data, size), std::move(on_read));
  stream_->async_read_some(asio::buffer(data, size), std::move(on_read));
}

void Http1Upstream::write_tunnel(const char* data, std::size_t size, Deadline deadline,
                                 SizeHandler handler) {
  if (interrupted_) {
    return post_aborted([handler = std::move(handler)](error_code ec) mutable { handler(ec, 0); });
  }
  tcp().expires_at(deadline);
  auto on_written = [self = shared_from_this(), handler = std::move(handler)](
                        error_code ec, std::size_t n) mutable { handler(ec, n); };
  if (tls_) return asio::async_write(*tls_, asio::buffer(data, size), std::move(on_written));
  asio::async_write(*stream_, asio::buffer(data, size), std::move(on_written));
}

// ---- the connector

std::shared_ptr<UpstreamRequest> Http1Connector::take_idle(const Endpoint& endpoint, bool verify) {
  if (endpoint.h2c) return h2c_.take(endpoint);
  if (endpoint.https) {
    auto tls = pool_.take_idle_tls(endpoint, verify);
    if (!tls) return nullptr;
    return std::make_shared<Http1Upstream>(worker_, endpoint, std::move(tls), true);
  }
  auto stream = pool_.take_idle(endpoint, verify);
  if (!stream) return nullptr;
  return std::make_shared<Http1Upstream>(worker_, endpoint, std::move(stream), true);
}

std::weak_ptr<PendingConnect> Http1Connector::connect(const Endpoint& endpoint, Deadline deadline,
                                                      ConnectHandler handler) {
  if (endpoint.h2c) return h2c_.connect(endpoint, deadline, std::move(handler));
  if (endpoint.https) {
    return connect_tls(
        pool_, endpoint, *endpoint.tls, deadline,
        [this, &endpoint, handler = std::move(handler)](
            error_code ec, std::unique_ptr<TlsUpstreamStream> stream) mutable {
          if (ec) return handler(ec, nullptr);
          handler({}, std::make_shared<Http1Upstream>(worker_, endpoint, std::move(stream), false));
        });
  }
  return pool_.acquire(
      endpoint, deadline,
      [this, &endpoint, handler = std::move(handler)](
          error_code ec, std::unique_ptr<UpstreamStream> stream) mutable {
        if (ec) return handler(ec, nullptr);
        handler({}, std::make_shared<Http1Upstream>(worker_, endpoint, std::move(stream), false));
      });
}

}  // namespace albemu::net
