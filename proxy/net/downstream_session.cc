#include "proxy/net/downstream_session.h"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "proxy/core/rate_limiter.h"
#include "proxy/core/url_map.h"
#include "proxy/log/metrics.h"
#include "proxy/net/exchange.h"
#include "proxy/net/http_date.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/socket_io.h"
#include "proxy/net/tls_context.h"
#include "proxy/net/upstream_exchange.h"

namespace albemu::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kTlsHandshakeTimeout{10};
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

/// True if `name` is a non-empty run of [A-Za-z0-9.-]: what a DNS host name can hold.
bool is_plain_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// True for the parser's verdicts on bad bytes, false for socket errors and for a client that
/// closed early (partial message).
bool is_framing_error(const boost::system::error_code& ec) {
  static const auto& parser_category = boost::system::error_code(http::error::bad_chunk).category();
  return ec && ec.category() == parser_category && ec != http::error::partial_message &&
         ec != http::error::end_of_stream;
}

// The plain stream is the socket itself: timeouts are the session's own deadline timer, so
// beast::basic_stream's per-operation wrapper would only add cost.
using PlainStream = ClientSocket;
using TlsStream = beast::ssl_stream<ClientSocket>;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

/// One client connection: reads requests, runs their phases, writes responses, in order.
template <class Stream>
class DownstreamSession final : public SessionBase,
                                public ExchangeHost,
                                public std::enable_shared_from_this<DownstreamSession<Stream>> {
 public:
  DownstreamSession(Worker& worker, Stream stream, ConnectionInfo info,
                    std::shared_ptr<ServerTls> tls)
      : worker_(worker),
        stream_(std::move(stream)),
        info_(std::move(info)),
        tls_(std::move(tls)),
        buffer_(kHeaderLimitBytes + 4096),
        fault_timer_(worker.io_context()),
        deadline_timer_(worker.io_context().get_executor()),
        header_timer_(worker.io_context()) {
    worker_.connections.fetch_add(1, std::memory_order_relaxed);
    if (auto* metrics = worker_.metrics()) metrics->connection_opened(worker_.index());
    worker_.add_session(*this);
  }

  ~DownstreamSession() override {
    if (in_request_) end_request();
    worker_.give_back_heads(std::move(heads_));
    worker_.connections.fetch_sub(1, std::memory_order_relaxed);
    if (auto* metrics = worker_.metrics()) metrics->connection_closed(worker_.index());
  }

  void start() {
    if constexpr (kIsTls<Stream>) {
      expire_after(kTlsHandshakeTimeout);
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    } else {
      do_read_request();
    }
  }

  void on_drain() override {
    draining_ = true;
    if (!in_request_) force_close();
  }

  void force_close() override {
    closed_ = true;
    close_socket();
    fault_timer_.cancel();
    header_timer_.cancel();
    if (exchange_) exchange_->cancel();
  }

  // ---- ExchangeHost: what the upstream exchange needs from the client side
  Worker& worker() override { return worker_; }
  RequestContext& context() override { return ctx_; }
  const ConnectionInfo& connection() override { return info_; }
  MessageHeadParser<true>& request_parser() override { return *parser_; }
  ResponseHead& response_head() override { return heads_->response; }
  char* chunk() override { return chunk_buffer(); }
  WireBuffers& wire() override { return wire_; }

  bool request_body_done() override { return !body_on_socket() && prefetched_ == 0; }

  void read_request_body(SizeHandler handler) override {
    body_read_pending_ = true;
    if (prefetched_ > 0) {
      // The piece that came with the head (prefetch_body) is already in the chunk.
      const std::size_t n = std::exchange(prefetched_, 0);
      return asio::post(stream_.get_executor(),
                        [self = this->shared_from_this(), handler = std::move(handler), n] {
                          self->on_body_read(handler, {}, n);
                        });
    }
    auto& body = parser_->get().body();
    body.data = chunk_buffer();
    body.size = kBodyChunkSize;
    read_body_some(
        [self = this->shared_from_this(), handler = std::move(handler)](beast::error_code ec) {
          self->on_body_read(handler, ec, kBodyChunkSize - self->parser_->get().body().size);
        },
        false);
  }

  /// A body read ended: its piece goes to whoever asked for it, unless the request finished
  /// meanwhile (an early answer relayed beside the read), which then takes it over.
  void on_body_read(const SizeHandler& handler, beast::error_code ec, std::size_t n) {
    body_read_pending_ = false;
    if (after_body_read_) return std::exchange(after_body_read_, nullptr)(ec, n);
    handler(ec, n);
  }

  bool can_keep_alive() override {
    if (!ctx_.client_keep_alive || draining_) return false;
    if (!body_on_socket()) return true;
    // The client may hold the body back until it sees 100 Continue, and never send it.
    if (ctx_.expect_continue && !ctx_.continue_sent) return false;
    // A chunked body of unknown size is read and dropped up to the same bound.
    if (parser_->chunked()) return true;
    const auto left = parser_->content_length_remaining();
    return left && *left <= kDiscardBodyLimit;
  }

  /// Parses the buffered bytes into the body buffer, with one check Beast lacks: a chunk line
  /// ended by a bare LF would have the parser wait for a CRLF that never comes. need_more
  /// asks for more bytes from the socket.
  beast::error_code parse_buffered_body() {
    beast::error_code ec = http::error::need_more;
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
  void read_body_some(BodyHandler handler, bool read) {
    beast::error_code ec = parse_buffered_body();
    const std::size_t read_size = beast::read_size(buffer_, 65536);
    if (ec == http::error::need_more && read_size == 0) ec = http::error::buffer_overflow;
    if (ec != http::error::need_more) return complete_body_read(std::move(handler), ec, read);
    expire_after(keepalive());
    stream_.async_read_some(buffer_.prepare(read_size),
                            [self = this->shared_from_this(), handler = std::move(handler)](
                                beast::error_code ec, std::size_t n) mutable {
                              self->expire_never();
                              if (ec == asio::error::eof) {
                                // The client ended its side: a body without its end is a partial
                                // message.
                                ec = {};
                                self->parser_->put_eof(ec);
                                return self->complete_body_read(std::move(handler), ec, true);
                              }
                              if (ec) return self->complete_body_read(std::move(handler), ec, true);
                              self->buffer_.commit(n);
                              self->read_body_some(std::move(handler), true);
                            });
  }

  void complete_body_read(BodyHandler handler, beast::error_code ec, bool read) {
    if (ec == http::error::need_buffer) ec = {};
    if (is_framing_error(ec)) body_malformed_ = true;
    if (read) return handler(ec);
    asio::post(stream_.get_executor(), [self = this->shared_from_this(),
                                        handler = std::move(handler), ec] { handler(ec); });
  }

  void send_continue(BodyHandler handler) override {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    ctx_.continue_sent = true;
    expire_after(keepalive());
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = this->shared_from_this(), handler = std::move(handler)](
                          beast::error_code ec, std::size_t) mutable {
                        self->expire_never();
                        handler(ec);
                      });
  }

  void write_client(const std::vector<asio::const_buffer>& buffers, SizeHandler handler) override {
    expire_after(keepalive());
    write_eager(stream_, buffers,
                [self = this->shared_from_this(), handler = std::move(handler)](
                    beast::error_code ec, std::size_t n) mutable {
                  self->expire_never();
                  handler(ec, n);
                });
  }

  void read_tunnel(char* data, std::size_t size, std::chrono::steady_clock::time_point deadline,
                   SizeHandler handler) override {
    expire_at(deadline);
    stream_.async_read_some(asio::buffer(data, size),
                            [self = this->shared_from_this(), handler = std::move(handler)](
                                beast::error_code ec, std::size_t n) mutable { handler(ec, n); });
  }

  void write_tunnel(const char* data, std::size_t size,
                    std::chrono::steady_clock::time_point deadline, SizeHandler handler) override {
    expire_at(deadline);
    asio::async_write(stream_, asio::buffer(data, size),
                      [self = this->shared_from_this(), handler = std::move(handler)](
                          beast::error_code ec, std::size_t n) mutable { handler(ec, n); });
  }

  beast::flat_buffer& client_buffer() override { return buffer_; }

  void exchange_done(bool keep_alive) override {
    exchange_.reset();
    finish_request(keep_alive);
  }

  void send_local_response(LocalResponse&& response) override {
    exchange_.reset();
    local_ = std::move(response);
    send_local();
  }

  void exchange_aborted() override {
    // The exchange may still wait on its backend connection (the early-response watch of an
    // upload the client abandoned): closing it lets the exchange go now, not at the deadline.
    if (exchange_) exchange_->cancel();
    exchange_.reset();
    // A body the parser refused (bad chunk framing) is the client's fault: it gets a 400 if
    // no response has started, like a malformed head.
    if (body_malformed_ && ctx_.log.status == 0 && ctx_.log.response_size == 0 && !closed_) {
      return send_error(core::ProxyError::kMalformedRequest, 0);
    }
    abort_request();
  }

  void close_client() override { force_close(); }

  void send_error(core::ProxyError error, int configured_status) override {
    exchange_.reset();
    local_ = {};
    make_error_response(local_, ctx_, error, configured_status);
    send_local();
  }

 private:
  ClientSocket& lowest() { return beast::get_lowest_layer(stream_); }
  /// Request body bytes are still to come from the client (the parser has not seen the end).
  bool body_on_socket() const {
    return parser_ && parser_->is_header_done() && !parser_->is_done() && !body_malformed_;
  }
  std::string_view buffer_view() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }
  void close_socket() {
    beast::error_code ignored;
    lowest().close(ignored);
  }

  // ---- the connection's deadline: every client-side read and write must end before it, or
  // the connection is closed (as a stream expiry would do, without re-arming a timer for each
  // operation: the timer is re-armed only when it fires early or the deadline moves earlier).

  void expire_at(Clock::time_point deadline) {
    deadline_ = deadline;
    if (!deadline_timer_armed_ || deadline < timer_expiry_) arm_deadline_timer();
  }
  void expire_after(Clock::duration timeout) { expire_at(Clock::now() + timeout); }
  /// No client operation is pending (the deadline of the last one is met). The tunnel's two
  /// directions share one fixed deadline and never call this.
  void expire_never() { deadline_ = Clock::time_point::max(); }

  void arm_deadline_timer() {
    deadline_timer_armed_ = true;
    timer_expiry_ = deadline_;
    deadline_timer_.expires_at(deadline_);
    // A weak reference: an idle connection's pending wait must not keep the session alive.
    deadline_timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      const auto self = weak.lock();
      if (ec || !self) return;  // re-armed (a newer wait is pending) or the session is gone
      self->deadline_timer_armed_ = false;
      if (Clock::now() < self->deadline_) return self->arm_deadline_timer();
      self->close_socket();
    });
  }

  char* chunk_buffer() {
    if (!chunk_) chunk_ = worker_.take_chunk();
    return chunk_.get();
  }

  std::chrono::steady_clock::duration keepalive() {
    // During a request the plan found at its start is at hand; between requests, the current
    // generation's.
    if (in_request_ && ctx_.listener) return ctx_.listener->keepalive_timeout;
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

  void on_handshake(beast::error_code ec) {
    expire_never();
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
    if (closed_) return;
    if (draining_) return force_close();
    if (buffer_.size() > 0) return do_read_header();
    // Idle: give back what only a request in progress needs, so that thousands of idle
    // keepalive connections cost little memory.
    worker_.give_back_chunk(std::move(chunk_));
    parser_.reset();
    worker_.give_back_heads(std::move(heads_));
    if (buffer_.capacity() > kIdleReadSize) buffer_.shrink_to_fit();
    expire_after(keepalive());
    read_drained(stream_, buffer_.prepare(kIdleReadSize),
                 [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                   self->on_idle_read(ec, n);
                 });
  }

  void on_idle_read(beast::error_code ec, std::size_t n) {
    expire_never();
    if (ec) return force_close();
    buffer_.commit(n);
    do_read_header();
  }

  void do_read_header() {
    if (!heads_) heads_ = worker_.take_heads();
    parser_.emplace(heads_->request);
    body_malformed_ = false;
    prefetched_ = 0;
    discarded_ = 0;
    skipped_empty_lines_ = 0;
    parser_->header_limit(static_cast<std::uint32_t>(kHeaderLimitBytes));
    parser_->field_limit(kMaxHeaderCount);
    parser_->body_limit(boost::none);
    head_bytes_ = 0;
    // Usually the whole head arrived with the first read: parse it in place, with no timer and
    // no read operation. Otherwise (need_more) the rest is read below.
    if (buffer_.size() > 0) {
      const beast::error_code ec = parse_buffered_head();
      if (ec != http::error::need_more) return on_head_parsed(ec, head_bytes_);
    }
    // A timer of its own rather than the stream's expiry: the stream closes the socket when
    // it expires, and a slow head still deserves its 408.
    expire_never();
    header_timed_out_ = false;
    const auto generation = ++header_reads_;
    header_timer_.expires_after(worker_.request_header_timeout());
    header_timer_.async_wait([self = this->shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->header_reads_ || self->closed_) return;
      self->header_timed_out_ = true;
      beast::error_code ignored;
      self->lowest().cancel(ignored);
    });
    read_more_head();
  }

  /// Feeds the buffered bytes to the parser (which takes only whole lines, so a folded field
  /// is always seen whole). Even short of the whole head it may take the start line and some
  /// fields: those bytes leave the buffer.
  beast::error_code parse_buffered_head() {
    beast::error_code ec;
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
    std::string_view bytes = buffer_view();
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
    if (room == 0) return on_read_header(http::error::header_limit);
    read_drained(stream_, buffer_.prepare(std::min(room, kHeadReadSize)),
                 [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                   if (ec) return self->on_read_header(ec);
                   self->buffer_.commit(n);
                   ec = self->parse_buffered_head();
                   if (ec == http::error::need_more) return self->read_more_head();
                   self->on_read_header(ec);
                 });
  }

  void on_read_header(beast::error_code ec) {
    ++header_reads_;  // disarms a timer that fired meanwhile
    header_timer_.cancel();
    if (ec && header_timed_out_) ec = beast::error::timeout;
    // The client closed mid-head: Beast's read would call that a partial message (400).
    if (ec == asio::error::eof && head_bytes_ + buffer_.size() > 0)
      ec = http::error::partial_message;
    on_head_parsed(ec, head_bytes_);
  }

  void on_head_parsed(beast::error_code ec, std::size_t header_bytes) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return force_close();
    }
    if (ec) {
      core::ProxyError error = core::ProxyError::kMalformedRequest;
      if (ec == http::error::header_limit) error = core::ProxyError::kRequestHeaderTooLarge;
      if (ec == beast::error::timeout) error = core::ProxyError::kRequestHeaderTimeout;
      if (ec.category() != beast::error_code(http::error::header_limit).category() &&
          ec != beast::error::timeout) {
        return force_close();  // a socket error: nobody to answer
      }
      return reject_request(error);
    }
    switch (check_request_head(parser_->get())) {
      case RequestHeadProblem::kNone:
        break;
      case RequestHeadProblem::kMalformed:
        return reject_request(core::ProxyError::kMalformedRequest);
      case RequestHeadProblem::kConnect:
        return reject_connect();
    }
    if (!prefetch_body()) return reject_request(core::ProxyError::kMalformedRequest);
    begin_request();
    ctx_.log.request_size = header_bytes;
    on_request_head();
  }

  /// Parses the body bytes that came with the head into the chunk, before anything is routed
  /// or sent upstream: a body whose framing is already broken there (a chunk size that
  /// overflows, say) is refused before the service sees any of the request. The piece is
  /// handed out by the first read_request_body. False if the framing is broken.
  bool prefetch_body() {
    if (!body_on_socket()) return true;
    // Each put then parses every buffered chunk that fits the body buffer, not one step.
    parser_->eager(true);
    if (buffer_.size() == 0) return true;
    auto& body = parser_->get().body();
    body.data = chunk_buffer();
    body.size = kBodyChunkSize;
    const beast::error_code ec = parse_buffered_body();
    if (ec && ec != http::error::need_more && ec != http::error::need_buffer) return false;
    prefetched_ = kBodyChunkSize - body.size;
    return true;
  }

  /// Answers a request whose head could not be read, then closes.
  void reject_request(core::ProxyError error) {
    begin_request();
    ctx_.client_keep_alive = false;
    local_ = {};
    make_error_response(local_, ctx_, error);
    ctx_.client_keep_alive = false;
    send_local();
  }

  /// CONNECT: Envoy answers 404 (no route has a connect_matcher) and nothing is tunnelled.
  void reject_connect() {
    begin_request();
    ctx_.client_keep_alive = false;
    local_ = {};
    local_.result(http::status::not_found);
    ctx_.log.status_details.assign("route_not_found");
    send_local();
  }

  void begin_request() {
    in_request_ = true;
    worker_.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
    ctx_.reset();
    ctx_.detailed_log = worker_.access_log() != nullptr;
    ctx_.start = std::chrono::steady_clock::now();
    ctx_.generation = worker_.generation();
    std::tie(ctx_.listener, ctx_.url_map) = current_plan();
    const auto& request = parser_->get();
    version_ = request.version();
    begin_log(ctx_, info_, request, request.method_string(), request.target(), version_);
  }

  // ---- request phases

  void on_request_head() {
    auto& request = parser_->get();
    ctx_.client_keep_alive = parser_->keep_alive();
    ctx_.is_head = request.method() == http::verb::head;
    if (auto it = request.find(http::field::expect); it != request.end()) {
      ctx_.expect_continue = beast::iequals(it->value(), "100-continue");
    }
    if (!ctx_.url_map) {
      // The forwarding rule was removed by a reload while this connection was open.
      ctx_.client_keep_alive = false;
      return send_error(core::ProxyError::kFailedToPickBackend, 0);
    }
    route();
  }

  void route() {
    auto& request = parser_->get();
    collect_header_views(request, ctx_.header_views);
    core::RouteRequest view;
    view.method = request.method_string();
    view.scheme = info_.https ? "https" : "http";
    if (auto it = request.find(http::field::host); it != request.end()) view.host = it->value();
    view.target = request.target();
    view.listener_port = ctx_.listener->port;
    view.headers = ctx_.header_views;
    const uint32_t draw = static_cast<uint32_t>(worker_.rng()());
    ctx_.decision = ctx_.url_map->route(view, draw);
    ctx_.routed = true;

    if (ctx_.decision.action == core::RouteAction::kRedirect) {
      local_ = {};
      local_.result(static_cast<unsigned>(ctx_.decision.status));
      local_.set(http::field::location, ctx_.decision.location);
      route_log(ctx_);
      return send_local();
    }
    const auto* policy = ctx_.decision.policy;
    if (policy && policy->cors) {
      if (core::cors_preflight_response(*policy->cors, view.method, ctx_.header_views,
                                        ctx_.cors_headers)) {
        local_ = {};
        local_.result(http::status::ok);
        route_log(ctx_);
        return send_local();
      }
      core::cors_response_headers(*policy->cors, ctx_.header_views, ctx_.cors_headers);
    }
    resolve_backend(view.host, request.target());
  }

  void resolve_backend(std::string_view host, std::string_view target) {
    const auto& snapshot = *ctx_.generation->snapshot;
    const std::string_view path = target.substr(0, target.find('?'));
    if (snapshot.resolver) {
      ctx_.target = snapshot.resolver->resolve(ctx_.decision.backend_service, host, path);
    }
    route_log(ctx_);
    if (!ctx_.target) return send_error(core::ProxyError::kFailedToPickBackend, 0);

    if (snapshot.rate_limiter && snapshot.rate_limiter->has_policy(ctx_.decision.backend_service)) {
      core::RateLimitKeyInputs inputs{info_.client_ip, ctx_.header_views, path, info_.sni};
      const auto verdict = snapshot.rate_limiter->check(ctx_.decision.backend_service, inputs,
                                                        std::chrono::steady_clock::now());
      if (verdict.policy_applied) {
        ctx_.log.enforced_security_policy = log::EnforcedSecurityPolicy{
            verdict.policy_name, verdict.rule_priority,  verdict.configured_action,
            verdict.outcome,     verdict.rate_limit_key, verdict.rate_limit_outcome};
      }
      if (!verdict.allowed) {
        return send_error(core::ProxyError::kDeniedBySecurityPolicy, verdict.deny_status);
      }
    }
    apply_fault_injection();
  }

  void apply_fault_injection() {
    const auto* policy = ctx_.decision.policy;
    if (policy && policy->fault_injection && policy->fault_injection->delay) {
      const auto& delay = *policy->fault_injection->delay;
      if (draw_percentage() < delay.percentage) {
        fault_timer_.expires_after(std::chrono::seconds(delay.fixed_delay.seconds) +
                                   std::chrono::nanoseconds(delay.fixed_delay.nanos));
        fault_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
          if (ec || self->closed_) return;
          self->after_fault_delay();
        });
        return;
      }
    }
    after_fault_delay();
  }

  void after_fault_delay() {
    const auto* policy = ctx_.decision.policy;
    if (policy && policy->fault_injection && policy->fault_injection->abort) {
      const auto& abort = *policy->fault_injection->abort;
      if (draw_percentage() < abort.percentage) {
        return send_error(core::ProxyError::kFaultAbort, static_cast<int>(abort.http_status));
      }
    }
    exchange_ = std::make_shared<UpstreamExchange>(*this, this->shared_from_this());
    exchange_->start();
  }

  double draw_percentage() {
    return std::uniform_real_distribution<double>(0.0, 100.0)(worker_.rng());
  }

  // ---- answers albemu writes itself

  /// Writes `local_` (after the response transforms) and then finishes the request.
  void send_local() {
    local_.version(version_);
    transform_response(local_, ctx_.routed ? &ctx_.decision : nullptr, &info_.variables);
    for (const auto& header : ctx_.cors_headers) local_.set(header.name, header.value);
    if (local_.find(http::field::date) == local_.end()) local_.set(http::field::date, http_date());
    const bool keep_alive = can_keep_alive();
    local_.keep_alive(keep_alive);
    local_.prepare_payload();
    ctx_.log.status = static_cast<int>(local_.result_int());
    expire_after(keepalive());
    http::async_write(
        stream_, local_,
        [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t n) {
          self->expire_never();
          self->ctx_.log.response_size += n;
          if (ec) return self->abort_request();
          self->finish_request(keep_alive);
        });
  }

  /// The answer was written whole. A request body still arriving is read and dropped first
  /// when the connection stays (can_keep_alive said it may, at most kDiscardBodyLimit bytes);
  /// otherwise the close lingers until the client stops sending (do_close).
  void finish_request(bool keep_alive) {
    if (body_read_pending_) {
      // The exchange relayed an early answer while its read of the body waited for the client.
      // Kept, the connection drops that piece as the rest of the body; closing, it ends the
      // read and lingers.
      after_body_read_ = [this, keep_alive](beast::error_code ec, std::size_t n) {
        ctx_.log.request_size += n;
        discarded_ += n;
        if (keep_alive && ec) return abort_request();
        finish_request(keep_alive);
      };
      if (!keep_alive) {
        beast::error_code ignored;
        lowest().cancel(ignored);
      }
      return;
    }
    if (keep_alive && body_on_socket() && !closed_) return discard_body();
    end_request();
    if (!keep_alive || draining_ || closed_) return do_close();
    do_read_request();
  }

  void discard_body() {
    if (!body_on_socket()) return finish_request(!draining_);
    // A chunked body can outgrow the bound after the answer promised to keep the connection:
    // it closes then, lingering as for any body left unread.
    if (discarded_ > kDiscardBodyLimit) return finish_request(false);
    read_request_body([self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->abort_request();
      self->ctx_.log.request_size += n;
      self->discarded_ += n;
      self->discard_body();
    });
  }

  /// The client went away (or a write failed) mid-exchange.
  void abort_request() {
    if (ctx_.log.status == 0) {
      const auto& info = core::error_info(core::ProxyError::kClientDisconnectedBeforeResponse);
      ctx_.log.proxy_status.assign(info.proxy_status);
      ctx_.log.status_details.assign(info.details);
    }
    end_request();
    force_close();
  }

  void end_request() {
    if (!in_request_) return;
    in_request_ = false;
    finish_log(worker_, ctx_);
    worker_.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  // ---- closing

  /// Closes after the last answer as nginx's lingering close does: the write side is shut
  /// (after TLS close_notify), then what the client still sends is read and dropped until it
  /// closes too or the linger ends, so that the close never resets the connection while the
  /// answer may be unread (a client busy uploading reads it only once its upload is out).
  void do_close() {
    if (closed_) return;
    closed_ = true;
    const auto now = Clock::now();
    const bool body_unread = parser_ && parser_->is_header_done() && !parser_->is_done();
    linger_end_ = now + (body_unread ? kLingerTime : kCloseLinger);
    if constexpr (kIsTls<Stream>) {
      // close_notify alone: marking the client's as received makes SSL_shutdown send ours and
      // finish, rather than read for the client's, which fails on the application data of an
      // upload still arriving. The client's bytes are then dropped undecrypted.
      SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
      expire_at(std::min(linger_end_, now + kLingerTimeout));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close_socket();
        self->linger();
      });
    } else {
      linger();
    }
  }

  void linger() {
    beast::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_send, ignored);
    linger_read();
  }

  void linger_read() {
    expire_at(std::min(linger_end_, Clock::now() + kLingerTimeout));
    // The relay chunk doubles as the drain buffer: a closing connection relays nothing more.
    lowest().async_read_some(asio::buffer(chunk_buffer(), kBodyChunkSize),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
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
  std::unique_ptr<char[]> chunk_;
  WireBuffers wire_;
  std::size_t prefetched_ = 0;   // body bytes in the chunk that read_request_body has not given
  std::uint64_t discarded_ = 0;  // body bytes read and dropped after the answer
  bool body_read_pending_ = false;
  ExchangeHost::SizeHandler after_body_read_;  // takes over a body read the request left
  Clock::time_point linger_end_;
  RequestContext ctx_;
  LocalResponse local_;
  asio::steady_timer fault_timer_;
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>
      deadline_timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point timer_expiry_;
  bool deadline_timer_armed_ = false;
  asio::steady_timer header_timer_;
  uint64_t header_reads_ = 0;
  std::size_t head_bytes_ = 0;           // head bytes the parser has taken so far
  std::size_t skipped_empty_lines_ = 0;  // CRLF bytes dropped before the request line
  bool header_timed_out_ = false;
  bool body_malformed_ = false;  // the parser refused the request body (bad chunk framing)
  std::shared_ptr<UpstreamExchange> exchange_;
  unsigned version_ = 11;
  // current_plan()'s cache. Holding the generation keeps the cached pointers valid (and a new
  // generation can never reuse the address of one still held).
  std::shared_ptr<const Generation> plan_generation_;
  std::pair<const core::ListenerPlan*, const core::CompiledUrlMap*> plan_{nullptr, nullptr};
  bool in_request_ = false;
  bool draining_ = false;
  bool closed_ = false;
};

}  // namespace

void start_session(Worker& worker, const std::string& forwarding_rule, bool https,
                   ClientSocket socket) {
  beast::error_code ec;
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
    auto session = std::make_shared<DownstreamSession<PlainStream>>(
        worker, PlainStream(std::move(socket)), std::move(info), nullptr);
    session->start();
    return;
  }
  const auto& generation = worker.generation();
  if (!generation) return;
  auto it = generation->tls.find(forwarding_rule);
  if (it == generation->tls.end()) return;
  auto tls = it->second;
  auto session = std::make_shared<DownstreamSession<TlsStream>>(
      worker, TlsStream(std::move(socket), tls->context()), std::move(info), tls);
  session->start();
}

}  // namespace albemu::net
