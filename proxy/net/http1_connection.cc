#include "proxy/net/http1_connection.h"

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>
#include <string>

#include "proxy/log/metrics.h"
#include "proxy/net/connection_deadlines.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"
#include "proxy/net/request.h"
#include "proxy/net/socket_io.h"
#include "proxy/net/tls_context.h"

namespace albemu::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr std::chrono::seconds kDefaultKeepalive{610};
/// An answer written while the request body is still arriving keeps the connection only if
/// the body left is at most this big (it is read and dropped, as nginx discards it); a bigger
/// or unannounced one closes the connection with a lingering close.
constexpr std::uint64_t kDiscardBodyLimit = 1024 * 1024;
/// A closing connection reads and drops what the client still sends, so that closing with
/// unread bytes does not reset the connection and destroy an answer the client has not read
/// yet. Closing after a complete request lingers at most kCloseLinger; closing while a request
/// body still arrives lingers as nginx's lingering close does: until the client stops, at most
/// kLingerTime in all and kLingerTimeout between two reads.
constexpr std::chrono::seconds kCloseLinger{2};
constexpr std::chrono::seconds kLingerTime{30};
constexpr std::chrono::seconds kLingerTimeout{5};
/// The first read of a request head asks for this much (longer heads take more reads).
constexpr std::size_t kIdleReadSize = 1024;
/// Later reads of a request head that did not come whole ask for up to this much.
constexpr std::size_t kHeadReadSize = 16 * 1024;

// The plain stream is the socket itself: timeouts are the connection's own deadline timer, so
// beast::basic_stream's per-operation wrapper would only add cost.
using PlainStream = ClientSocket;
using TlsStream = beast::ssl_stream<ClientSocket>;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

/// One client connection: reads requests, hands each to its Request, frames what the request
/// writes, and decides after each whether the connection reads the next one, drops the rest of
/// a body first, or closes.
template <class Stream>
class Http1Connection final : public SessionBase,
                              public RequestStream,
                              public std::enable_shared_from_this<Http1Connection<Stream>> {
 public:
  Http1Connection(Worker& worker, Stream stream, ConnectionInfo info,
                  std::shared_ptr<ServerTls> tls)
      : worker_(worker),
        stream_(std::move(stream)),
        info_(std::move(info)),
        tls_(std::move(tls)),
        buffer_(kHeaderLimitBytes + 4096),
        deadline_timer_(worker.io_context().get_executor()),
        header_timer_(worker.io_context()),
        request_(*this) {
    worker_.connections.fetch_add(1, std::memory_order_relaxed);
    if (auto* metrics = worker_.metrics()) metrics->connection_opened(worker_.index());
    worker_.add_session(*this);
  }

  ~Http1Connection() override {
    if (request_.active()) request_.detach();
    worker_.give_back_heads(std::move(heads_));
    worker_.give_back_chunk(std::move(chunk_));
    worker_.connections.fetch_sub(1, std::memory_order_relaxed);
    if (auto* metrics = worker_.metrics()) metrics->connection_closed(worker_.index());
  }

  void start() {
    if constexpr (kIsTls<Stream>) {
      deadlines_.read(Clock::now() + worker_.timeouts().tls_handshake);
      arm_deadline();
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                self->deadlines_.read_done();
                                self->on_handshake(ec);
                              });
    } else {
      do_read_request();
    }
  }

  // ---- SessionBase

  void on_drain() override {
    draining_ = true;
    if (!in_request_) force_close();
  }

  void force_close() override {
    reset();
    if (request_.active()) request_.abort();
  }

  // ---- RequestStream

  Worker& worker() override { return worker_; }
  const ConnectionInfo& connection() const override { return info_; }
  RequestHead& request_head() override { return heads_->request; }
  ResponseHead& response_head() override { return heads_->response; }
  std::shared_ptr<void> keepalive() override { return this->shared_from_this(); }

  bool body_done() const override { return !body_unread() && prefetched_ == 0; }
  std::optional<std::uint64_t> body_length() const override {
    if (!parser_ || parser_->chunked() || !parser_->content_length()) return std::nullopt;
    return *parser_->content_length();
  }
  const char* body_piece() const override { return chunk_.get(); }

  void read_body(SizeHandler handler) override {
    body_read_pending_ = true;
    if (prefetched_ > 0) {
      // The piece that came with the head (prefetch_body) is already in the chunk.
      const std::size_t n = std::exchange(prefetched_, 0);
      return asio::post(stream_.get_executor(),
                        [self = this->shared_from_this(), handler = std::move(handler), n] {
                          self->on_body_read(handler, {}, n);
                        });
    }
    if (expect_continue_ && !continue_sent_) return send_continue(std::move(handler));
    auto& body = parser_->get().body();
    body.data = chunk_buffer();
    body.size = kBodyChunkSize;
    read_body_some(
        [self = this->shared_from_this(), handler = std::move(handler)](error_code ec) {
          self->on_body_read(handler, ec, kBodyChunkSize - self->parser_->get().body().size);
        },
        false);
  }

  void write_head(ResponseHead& head, std::string_view body, bool end,
                  SizeHandler handler) override {
    const unsigned status = head.result_int();
    head.version(version_);
    if (status == 101) {
      // Switching protocols: the backend's Connection: upgrade stands, and no body follows.
      response_chunked_ = false;
    } else {
      keep_alive_ = can_keep_alive();
      const bool no_body =
          request_.context().is_head || status / 100 == 1 || status == 204 || status == 304;
      response_chunked_ = false;
      if (!no_body && head.count(http::field::content_length) != 1) {
        if (version_ == 11) {
          head.chunked(true);
          response_chunked_ = true;
        } else {
          keep_alive_ = false;  // an HTTP/1.0 client learns the end by the close
        }
      }
      // HTTP/1.1 keeps the connection by default; the backend's Connection field is gone (hop
      // by hop), so only closing or an HTTP/1.0 client needs one.
      if (version_ != 11 || !keep_alive_ || head.count(http::field::connection) != 0)
        head.keep_alive(keep_alive_);
    }
    wire_.head.clear();
    serialize_response_head(head, wire_.head);
    wire_.out.clear();
    wire_.out.push_back(asio::buffer(wire_.head));
    frame_body(wire_, body, response_chunked_, end);
    send(std::move(handler));
  }

  void write_body(std::string_view body, bool end, SizeHandler handler) override {
    wire_.out.clear();
    frame_body(wire_, body, response_chunked_, end);
    if (wire_.out.empty()) return handler({}, 0);  // the end of a body with a length
    send(std::move(handler));
  }

  void write_trailers(const HeadFields& trailers, SizeHandler handler) override {
    wire_.out.clear();
    if (response_chunked_) {
      wire_.head.assign("0\r\n");
      trailers.append_to(wire_.head);
      wire_.head.append("\r\n");
      wire_.out.push_back(asio::buffer(wire_.head));
    }
    if (wire_.out.empty()) return handler({}, 0);
    send(std::move(handler));
  }

  void reset() override {
    closed_ = true;
    close_socket();
    header_timer_.cancel();
  }

  void request_done() override {
    if (closed_) return;
    finish_request(keep_alive_);
  }

  std::string_view tunnel_pending() override { return buffer_view(); }
  void tunnel_consumed(std::size_t bytes) override { buffer_.consume(bytes); }

  void read_tunnel(char* data, std::size_t size, Deadline deadline, SizeHandler handler) override {
    deadlines_.read(deadline);
    arm_deadline();
    stream_.async_read_some(asio::buffer(data, size),
                            [self = this->shared_from_this(), handler = std::move(handler)](
                                error_code ec, std::size_t n) { handler(ec, n); });
  }

  void write_tunnel(const char* data, std::size_t size, Deadline deadline,
                    SizeHandler handler) override {
    deadlines_.write(deadline);
    arm_deadline();
    asio::async_write(stream_, asio::buffer(data, size),
                      [self = this->shared_from_this(), handler = std::move(handler)](
                          error_code ec, std::size_t n) { handler(ec, n); });
  }

 private:
  ClientSocket& lowest() { return beast::get_lowest_layer(stream_); }
  std::string_view buffer_view() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }
  void close_socket() {
    error_code ignored;
    lowest().close(ignored);
  }
  char* chunk_buffer() {
    if (!chunk_) chunk_ = worker_.take_chunk();
    return chunk_.get();
  }

  /// The client still owes body bytes (the parser has not seen the end).
  bool body_unread() const { return parser_ && parser_->is_header_done() && !parser_->is_done(); }

  /// Whether the connection can carry another request after an answer written now: the
  /// client asked to keep it, the request did not ask to close, albemu is not draining, and a
  /// body still arriving is one to read and drop (finish_request).
  bool can_keep_alive() const {
    if (!client_keep_alive_ || !request_.context().client_keep_alive || draining_) return false;
    if (!body_unread()) return true;
    if (body_malformed_) return false;
    // The client may hold the body back until it sees 100 Continue, and never send it.
    if (expect_continue_ && !continue_sent_) return false;
    // A chunked body of unknown size is read and dropped up to the same bound.
    if (parser_->chunked()) return true;
    const auto left = parser_->content_length_remaining();
    return left && *left <= kDiscardBodyLimit;
  }

  // ---- the connection's deadline: every client-side read and write must end before its
  // own, or the connection is closed (as a stream expiry would do, without re-arming a timer
  // for each operation: the timer is re-armed only when it fires early or the deadline moves
  // earlier). A read and a write may be pending together (an answer relayed beside a body
  // read), each with its deadline.

  void arm_deadline() {
    const auto deadline = deadlines_.next();
    if (deadline == Clock::time_point::max()) return;
    if (deadline_timer_armed_ && timer_expiry_ <= deadline) return;
    deadline_timer_armed_ = true;
    timer_expiry_ = deadline;
    deadline_timer_.expires_at(deadline);
    // A weak reference: an idle connection's pending wait must not keep it alive.
    deadline_timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
      const auto self = weak.lock();
      if (ec || !self) return;  // re-armed (a newer wait is pending) or the connection is gone
      self->deadline_timer_armed_ = false;
      if (Clock::now() < self->deadlines_.next()) return self->arm_deadline();
      self->close_socket();
    });
  }
  void read_within(Clock::duration timeout) {
    deadlines_.read(Clock::now() + timeout);
    arm_deadline();
  }

  std::chrono::steady_clock::duration keepalive_timeout() {
    // During a request the plan found at its start is at hand; between requests, the current
    // generation's.
    if (request_.active() && request_.context().listener)
      return request_.context().listener->keepalive_timeout;
    const auto* plan = current_plan().first;
    return plan ? plan->keepalive_timeout : kDefaultKeepalive;
  }

  /// This connection's forwarding rule and URL map in the worker's current generation. Looked
  /// up by name once per generation, not once per request.
  std::pair<const core::ListenerPlan*, const core::CompiledUrlMap*> current_plan() {
    const auto& generation = worker_.generation();
    if (generation != plan_generation_) {
      plan_generation_ = generation;
      plan_ = {nullptr, nullptr};
      if (generation && generation->snapshot) {
        plan_.first = generation->snapshot->find_listener(info_.forwarding_rule);
        if (plan_.first) plan_.second = generation->snapshot->find_url_map(plan_.first->url_map);
      }
    }
    return plan_;
  }

  void on_handshake(error_code ec) {
    if (ec) return force_close();
    SSL* ssl = stream_.native_handle();
    // The SNI ends up in header values ({tls_sni_hostname}) and logs: take only host-name
    // characters, anything else (CR/LF above all) counts as no SNI.
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        sni != nullptr && is_plain_host_name(sni)) {
      info_.sni = sni;
    }
    info_.tls_version = SSL_get_version(ssl);
    if (const char* cipher = SSL_get_cipher_name(ssl)) info_.tls_cipher = cipher;
    info_.variables.tls_sni_hostname = info_.sni;
    info_.variables.tls_version = info_.tls_version;
    info_.variables.tls_cipher_suite = info_.tls_cipher;
    do_read_request();
  }

  // ---- reading a request head

  /// Waits for the first byte of the next request under the idle (keepalive) timeout; an idle
  /// connection that times out is closed without a response.
  void do_read_request() {
    in_request_ = false;
    if (closed_) return;
    if (draining_) return force_close();
    if (buffer_.size() > 0) return do_read_header();
    // Idle: give back what only a request in progress needs, so that thousands of idle
    // keepalive connections cost little memory.
    worker_.give_back_chunk(std::move(chunk_));
    parser_.reset();
    worker_.give_back_heads(std::move(heads_));
    if (buffer_.capacity() > kIdleReadSize) buffer_.shrink_to_fit();
    read_within(keepalive_timeout());
    read_drained(stream_, buffer_.prepare(kIdleReadSize),
                 [self = this->shared_from_this()](error_code ec, std::size_t n) {
                   self->deadlines_.read_done();
                   if (ec) return self->force_close();
                   self->buffer_.commit(n);
                   self->do_read_header();
                 });
  }

  void do_read_header() {
    in_request_ = true;
    if (!heads_) heads_ = worker_.take_heads();
    parser_.emplace(heads_->request);
    parser_->header_limit(static_cast<std::uint32_t>(kHeaderLimitBytes));
    parser_->field_limit(kMaxHeaderCount);
    parser_->body_limit(boost::none);
    body_malformed_ = false;
    prefetched_ = 0;
    discarded_ = 0;
    skipped_empty_lines_ = 0;
    head_bytes_ = 0;
    // Usually the whole head arrived with the first read: parse it in place, with no timer and
    // no read operation. Otherwise (need_more) the rest is read below.
    if (buffer_.size() > 0) {
      const error_code ec = parse_buffered_head();
      if (ec != http::error::need_more) return on_head_parsed(ec);
    }
    // A timer of its own rather than the connection's deadline: the deadline closes the
    // socket when it passes, and a slow head still deserves its 408.
    header_timed_out_ = false;
    const auto generation = ++header_reads_;
    header_timer_.expires_after(worker_.timeouts().request_header);
    header_timer_.async_wait([self = this->shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->header_reads_ || self->closed_) return;
      self->header_timed_out_ = true;
      error_code ignored;
      self->lowest().cancel(ignored);
    });
    read_more_head();
  }

  /// Feeds the buffered bytes to the parser (which takes only whole lines, so a folded field
  /// is always seen whole). Even short of the whole head it may take the start line and some
  /// fields: those bytes leave the buffer.
  error_code parse_buffered_head() {
    error_code ec;
    if (head_bytes_ == 0 && !skip_empty_lines()) return http::error::header_limit;
    if (buffer_.size() == 0) return http::error::need_more;
    const auto data = buffer_.data();
    const std::size_t used = parser_->put_head(data, ec);
    if (!ec || ec == http::error::need_more) {
      if (has_obs_fold({static_cast<const char*>(data.data()), used})) ec = http::error::bad_value;
    }
    buffer_.consume(used);
    head_bytes_ += used;
    // Beast waits for CRLF CRLF before it parses a head, so a head ended by bare LFs would
    // wait for the header timeout: everything buffered belongs to the unfinished head.
    if (ec == http::error::need_more && has_bare_lf(buffer_view()))
      ec = http::error::bad_line_ending;
    return ec;
  }

  /// Drops the empty lines (CRLF) before a request line, as RFC 9112 2.2 asks a server to do
  /// for at least one (some clients send a CRLF after a POST body). False past the head limit.
  bool skip_empty_lines() {
    const std::string_view bytes = buffer_view();
    std::size_t skipped = 0;
    while (bytes.substr(skipped, 2) == kCrlf) skipped += 2;
    buffer_.consume(skipped);
    skipped_empty_lines_ += skipped;
    return skipped_empty_lines_ <= kHeaderLimitBytes;
  }

  /// Reads until the head is complete (what http::async_read_header does, but every byte the
  /// parser takes passes the obs-fold check).
  void read_more_head() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return on_head_read(http::error::header_limit);
    read_drained(stream_, buffer_.prepare(std::min(room, kHeadReadSize)),
                 [self = this->shared_from_this()](error_code ec, std::size_t n) {
                   if (ec) return self->on_head_read(ec);
                   self->buffer_.commit(n);
                   ec = self->parse_buffered_head();
                   if (ec == http::error::need_more) return self->read_more_head();
                   self->on_head_read(ec);
                 });
  }

  void on_head_read(error_code ec) {
    ++header_reads_;  // disarms a timer that fired meanwhile
    header_timer_.cancel();
    if (ec && header_timed_out_) ec = beast::error::timeout;
    // The client closed mid-head: Beast's read would call that a partial message (400).
    if (ec == asio::error::eof && head_bytes_ + buffer_.size() > 0)
      ec = http::error::partial_message;
    on_head_parsed(ec);
  }

  void on_head_parsed(error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return force_close();
    }
    if (ec) {
      core::ProxyError error = core::ProxyError::kMalformedRequest;
      if (ec == http::error::header_limit) error = core::ProxyError::kRequestHeaderTooLarge;
      if (ec == beast::error::timeout) error = core::ProxyError::kRequestHeaderTimeout;
      if (ec.category() != error_code(http::error::header_limit).category() &&
          ec != beast::error::timeout) {
        return force_close();  // a socket error: nobody to answer
      }
      begin_request();
      return request_.reject(error);
    }
    switch (check_request_head(parser_->get())) {
      case RequestHeadProblem::kNone:
        break;
      case RequestHeadProblem::kMalformed:
        begin_request();
        return request_.reject(core::ProxyError::kMalformedRequest);
      case RequestHeadProblem::kConnect:
        begin_request();
        return request_.reject_connect();
    }
    if (!prefetch_body()) {
      begin_request();
      return request_.reject(core::ProxyError::kMalformedRequest);
    }
    begin_request();
    request_.start();
  }

  /// Parses the body bytes that came with the head into the chunk, before anything is routed
  /// or sent upstream: a body whose framing is already broken there (a chunk size that
  /// overflows, say) is refused before the service sees any of the request. The piece is
  /// handed out by the first read_body. False if the framing is broken.
  bool prefetch_body() {
    if (!body_unread()) return true;
    // Each put then parses every buffered chunk that fits the body buffer, not one step.
    parser_->eager(true);
    if (buffer_.size() == 0) return true;
    auto& body = parser_->get().body();
    body.data = chunk_buffer();
    body.size = kBodyChunkSize;
    const error_code ec = parse_buffered_body();
    if (ec && ec != http::error::need_more && ec != http::error::need_buffer) return false;
    prefetched_ = kBodyChunkSize - body.size;
    return true;
  }

  void begin_request() {
    const auto& head = parser_->get();
    version_ = head.version();
    client_keep_alive_ = parser_->is_header_done() && parser_->keep_alive();
    expect_continue_ = false;
    if (const auto expect = head[http::field::expect]; !expect.empty())
      expect_continue_ = beast::iequals(expect, "100-continue");
    continue_sent_ = false;
    keep_alive_ = false;
    const auto [listener, url_map] = current_plan();
    request_.begin(worker_.generation(), listener, url_map, head_bytes_);
  }

  // ---- reading the request body

  /// Parses the buffered bytes into the body buffer, with one check Beast lacks: a chunk line
  /// ended by a bare LF would have the parser wait for a CRLF that never comes. need_more
  /// asks for more bytes from the socket.
  error_code parse_buffered_body() {
    error_code ec = http::error::need_more;
    if (buffer_.size() > 0) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      // need_more leaves only an unfinished chunk line (or trailer) in the buffer.
      if (ec == http::error::need_more && parser_->chunked() && has_bare_lf(buffer_view()))
        ec = http::error::bad_chunk;
    }
    return ec;
  }

  /// What http::async_read_some does for the body, with parse_buffered_body's check. `read`
  /// tells whether a socket read happened (otherwise the handler is posted, never called
  /// inline).
  template <class Handler>
  void read_body_some(Handler handler, bool read) {
    error_code ec = parse_buffered_body();
    const std::size_t read_size = beast::read_size(buffer_, 65536);
    if (ec == http::error::need_more && read_size == 0) ec = http::error::buffer_overflow;
    if (ec != http::error::need_more) return complete_body_read(std::move(handler), ec, read);
    read_within(keepalive_timeout());
    stream_.async_read_some(buffer_.prepare(read_size),
                            [self = this->shared_from_this(), handler = std::move(handler)](
                                error_code ec, std::size_t n) mutable {
                              self->deadlines_.read_done();
                              if (ec == asio::error::eof) {
                                // The client ended its side: a body without its end is a
                                // partial message.
                                ec = {};
                                self->parser_->put_eof(ec);
                                return self->complete_body_read(std::move(handler), ec, true);
                              }
                              if (ec) return self->complete_body_read(std::move(handler), ec, true);
                              self->buffer_.commit(n);
                              self->read_body_some(std::move(handler), true);
                            });
  }

  template <class Handler>
  void complete_body_read(Handler handler, error_code ec, bool read) {
    if (ec == http::error::need_buffer) ec = {};
    if (is_malformed_body(ec)) body_malformed_ = true;
    if (read) return handler(ec);
    asio::post(stream_.get_executor(),
               [handler = std::move(handler), ec]() mutable { handler(ec); });
  }

  /// A body read ended: its piece goes to whoever asked for it, unless the request finished
  /// meanwhile (an early answer relayed beside the read), which then takes it over.
  void on_body_read(const SizeHandler& handler, error_code ec, std::size_t n) {
    body_read_pending_ = false;
    if (after_body_read_) return std::exchange(after_body_read_, nullptr)(ec, n);
    handler(ec, n);
  }

  /// Writes 100 Continue, then reads the body (any response write asked for meanwhile waits).
  void send_continue(SizeHandler handler) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    continue_sent_ = true;
    continue_in_flight_ = true;
    deadlines_.write(Clock::now() + keepalive_timeout());
    arm_deadline();
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = this->shared_from_this(), handler = std::move(handler)](
                          error_code ec, std::size_t) mutable {
                        self->deadlines_.write_done();
                        self->continue_in_flight_ = false;
                        if (auto queued = std::exchange(self->queued_write_, nullptr)) queued();
                        if (ec) return self->on_body_read(handler, ec, 0);
                        self->body_read_pending_ = false;
                        self->read_body(std::move(handler));
                      });
  }

  // ---- writing the response

  /// Writes wire_.out. A write asked for while 100 Continue goes out follows it.
  void send(SizeHandler handler) {
    if (continue_in_flight_) {
      queued_write_ = [this, handler = std::move(handler)]() mutable { send(std::move(handler)); };
      return;
    }
    deadlines_.write(Clock::now() + keepalive_timeout());
    arm_deadline();
    write_eager(stream_, wire_.out,
                [self = this->shared_from_this(), handler = std::move(handler)](error_code ec,
                                                                                std::size_t n) {
                  self->deadlines_.write_done();
                  handler(ec, n);
                });
  }

  // ---- after the request

  /// The answer was written whole. A request body still arriving is read and dropped first
  /// when the connection stays (can_keep_alive said it may, at most kDiscardBodyLimit bytes);
  /// otherwise the close lingers until the client stops sending (do_close).
  void finish_request(bool keep_alive) {
    if (body_read_pending_) {
      // The request ended (an early answer) while a read of its body waits for the client.
      // Kept, the connection drops that piece as the rest of the body; closing, it ends the
      // read and lingers.
      after_body_read_ = [this, keep_alive](error_code ec, std::size_t n) {
        discarded_ += n;
        if (keep_alive && ec) return force_close();
        finish_request(keep_alive);
      };
      if (!keep_alive) {
        error_code ignored;
        lowest().cancel(ignored);
      }
      return;
    }
    if (keep_alive && body_unread() && !body_malformed_ && !closed_) return discard_body();
    if (!keep_alive || draining_ || closed_) return do_close();
    do_read_request();
  }

  void discard_body() {
    if (!body_unread()) return finish_request(true);
    // A chunked body can outgrow the bound after the answer promised to keep the connection:
    // it closes then, lingering as for any body left unread.
    if (discarded_ > kDiscardBodyLimit) return finish_request(false);
    read_body([self = this->shared_from_this()](error_code ec, std::size_t n) {
      if (ec) return self->force_close();
      self->discarded_ += n;
      self->discard_body();
    });
  }

  /// Closes after the last answer as nginx's lingering close does: the write side is shut
  /// (after TLS close_notify), then what the client still sends is read and dropped until it
  /// closes too or the linger ends, so that the close never resets the connection while the
  /// answer may be unread (a client busy uploading reads it only once its upload is out).
  void do_close() {
    if (closed_) return;
    closed_ = true;
    linger_end_ = Clock::now() + (body_unread() ? kLingerTime : kCloseLinger);
    if constexpr (kIsTls<Stream>) {
      // close_notify alone: marking the client's as received makes SSL_shutdown send ours and
      // finish, rather than read for the client's, which fails on the application data of an
      // upload still arriving. The client's bytes are then dropped undecrypted.
      SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
      deadlines_.write(std::min(linger_end_, Clock::now() + kLingerTimeout));
      arm_deadline();
      stream_.async_shutdown([self = this->shared_from_this()](error_code ec) {
        self->deadlines_.write_done();
        if (ec) return self->close_socket();
        self->linger();
      });
    } else {
      linger();
    }
  }

  void linger() {
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_send, ignored);
    linger_read();
  }

  void linger_read() {
    deadlines_.read(std::min(linger_end_, Clock::now() + kLingerTimeout));
    arm_deadline();
    // The body buffer doubles as the drain buffer: a closing connection relays nothing more.
    lowest().async_read_some(asio::buffer(chunk_buffer(), kBodyChunkSize),
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               if (ec) return self->close_socket();
                               self->linger_read();
                             });
  }

  Worker& worker_;
  Stream stream_;
  ConnectionInfo info_;
  std::shared_ptr<ServerTls> tls_;  // keeps the SNI callback's object alive
  beast::flat_buffer buffer_;
  std::unique_ptr<MessageHeads> heads_;  // the worker's, lent while a request is read
  std::optional<MessageHeadParser<true>> parser_;
  std::unique_ptr<char[]> chunk_;  // request body pieces, lent by the worker
  ResponseWire wire_;
  ConnectionDeadlines deadlines_;
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>
      deadline_timer_;
  Clock::time_point timer_expiry_;
  bool deadline_timer_armed_ = false;
  asio::steady_timer header_timer_;
  uint64_t header_reads_ = 0;
  std::size_t head_bytes_ = 0;           // head bytes the parser has taken so far
  std::size_t skipped_empty_lines_ = 0;  // CRLF bytes dropped before the request line
  bool header_timed_out_ = false;
  unsigned version_ = 11;  // of the request, and so of its response
  bool client_keep_alive_ = true;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool continue_in_flight_ = false;
  std::function<void()> queued_write_;  // a response write waiting for 100 Continue to go
  bool keep_alive_ = false;             // decided when the response head is written
  bool response_chunked_ = false;
  bool body_malformed_ = false;  // the parser refused the request body (bad chunk framing)
  std::size_t prefetched_ = 0;   // body bytes in the chunk that read_body has not handed out
  std::uint64_t discarded_ = 0;  // body bytes read and dropped after the answer
  bool body_read_pending_ = false;
  SizeHandler after_body_read_;  // takes over a body read the request left behind
  Clock::time_point linger_end_;
  // current_plan()'s cache. Holding the generation keeps the cached pointers valid (and a new
  // generation can never reuse the address of one still held).
  std::shared_ptr<const Generation> plan_generation_;
  std::pair<const core::ListenerPlan*, const core::CompiledUrlMap*> plan_{nullptr, nullptr};
  bool in_request_ = false;  // from a request's first byte until the connection goes on
  bool draining_ = false;
  bool closed_ = false;
  Request request_;  // last: it reaches into the members above
};

}  // namespace

void start_session(Worker& worker, const std::string& forwarding_rule, bool https,
                   ClientSocket socket) {
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  auto local = socket.local_endpoint(ec);
  if (ec) return;
  socket.set_option(tcp::no_delay(true), ec);
  if (!https) enable_drained_reads(socket);
  start_session_with_addresses(worker, forwarding_rule, https, std::move(socket),
                               remote.address().to_string(), local.address().to_string());
}

void start_session_with_addresses(Worker& worker, const std::string& forwarding_rule, bool https,
                                  ClientSocket socket, std::string client_ip,
                                  std::string local_ip) {
  ConnectionInfo info;
  info.forwarding_rule = forwarding_rule;
  info.https = https;
  info.client_ip = std::move(client_ip);
  info.local_ip = std::move(local_ip);
  if (!https) {
    auto connection = std::make_shared<Http1Connection<PlainStream>>(
        worker, PlainStream(std::move(socket)), std::move(info), nullptr);
    connection->start();
    return;
  }
  const auto& generation = worker.generation();
  if (!generation) return;
  auto it = generation->tls.find(forwarding_rule);
  if (it == generation->tls.end()) return;
  auto tls = it->second;
  auto connection = std::make_shared<Http1Connection<TlsStream>>(
      worker, TlsStream(std::move(socket), tls->context()), std::move(info), tls);
  connection->start();
}

}  // namespace albemu::net
