#include "proxy/net/http1_connection.h"

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <functional>
#include <memory>
#include <string>

#include "proxy/net/connection_deadlines.h"
#include "proxy/net/deadline_queue.h"
#include "proxy/net/http1_connection_base.h"
#include "proxy/net/http2_connection.h"
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

/// A closing connection reads and drops what the client still sends, so that closing with
/// unread bytes does not reset the connection and destroy an answer the client has not read
/// yet. Closing after a complete request lingers at most kCloseLinger; closing while a request
/// body still arrives lingers as nginx's lingering close does: until the client stops, at most
/// kLingerTime in all and kLingerTimeout between two reads.
constexpr std::chrono::seconds kCloseLinger{2};
constexpr std::chrono::seconds kLingerTime{30};
constexpr std::chrono::seconds kLingerTimeout{5};
/// Later reads of a request head that did not come whole ask for up to this much.
constexpr std::size_t kHeadReadSize = 16 * 1024;

// The plain stream is the socket itself: timeouts are the connection's deadline in its worker's
// DeadlineQueue, so beast::basic_stream's per-operation timer would only add cost.
using PlainStream = ClientSocket;
using TlsStream = TlsSocket;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

/// What a plain connection keeps of the TLS context it does not have: nothing.
struct NoServerTls {
  explicit NoServerTls(const std::shared_ptr<ServerTls>& /*none*/) {}
};

/// One client connection over a plain or a TLS stream: reads request heads and bodies, writes
/// what its Request frames, and after each request reads the next one, drops the rest of a
/// body first, or closes.
template <class Stream>
class Http1Connection final : public Http1ConnectionBase,
                              public DeadlineQueue::Entry,
                              public std::enable_shared_from_this<Http1Connection<Stream>> {
 public:
  Http1Connection(Worker& worker, Stream stream, ConnectionInfo info,
                  std::shared_ptr<ServerTls> tls)
      : Http1ConnectionBase(worker, std::move(info)),
        stream_(std::move(stream)),
        tls_(std::move(tls)) {}

  ~Http1Connection() override { worker_.give_back_timer(std::move(header_timer_)); }

  void start() {
    if constexpr (kIsTls<Stream>) {
      deadlines_.read(Clock::now() + worker_.timeouts().tls_handshake);
      arm_deadline();
      stream_.async_handshake([self = this->shared_from_this()](error_code ec) {
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
    if (request_active()) request_->abort();
  }

  std::string_view forwarding_rule() const override { return info_.forwarding_rule; }

  // ---- RequestStream: what takes I/O

  std::shared_ptr<void> keepalive() override { return this->shared_from_this(); }

  void read_body(SizeHandler handler) override {
    body_read_pending_ = true;
    if (prefetched_ > 0) {
      // The piece that came with the head (prefetch_body) is already in the chunk.
      const std::size_t n = std::exchange(prefetched_, 0);
      return asio::post(stream_.get_executor(),
                        [self = this->shared_from_this(), handler = std::move(handler),
                         n]() mutable { self->on_body_read(handler, {}, n); });
    }
    if (body_read_cancelled_) {
      return asio::post(stream_.get_executor(),
                        [self = this->shared_from_this(), handler = std::move(handler)]() mutable {
                          self->on_body_read(handler, asio::error::operation_aborted, 0);
                        });
    }
    if (expect_continue_ && !continue_sent_) return send_continue(std::move(handler));
    auto& body = parser().get().body();
    body.data = chunk_buffer();
    body.size = kBodyChunkSize;
    read_body_some(
        [self = this->shared_from_this(), handler = std::move(handler)](error_code ec) mutable {
          self->on_body_read(handler, ec, kBodyChunkSize - self->parser().get().body().size);
        },
        false);
  }

  void reset() override {
    closed_ = true;
    close_socket();
    if (header_timer_) header_timer_->cancel();
  }

  void request_done() override {
    if (closed_) return;
    finish_request(keep_alive_);
  }

  void read_tunnel(char* data, std::size_t size, Deadline deadline, SizeHandler handler) override {
    deadlines_.read(deadline);
    arm_deadline();
    stream_.async_read_some(asio::buffer(data, size),
                            [self = this->shared_from_this(), handler = std::move(handler)](
                                error_code ec, std::size_t n) mutable { handler(ec, n); });
  }

  void write_tunnel(const char* data, std::size_t size, Deadline deadline,
                    SizeHandler handler) override {
    deadlines_.write(deadline);
    arm_deadline();
    asio::async_write(stream_, asio::buffer(data, size),
                      [self = this->shared_from_this(), handler = std::move(handler)](
                          error_code ec, std::size_t n) mutable { handler(ec, n); });
  }

 private:
  ClientSocket& lowest() { return beast::get_lowest_layer(stream_); }
  void close_socket() {
    error_code ignored;
    lowest().close(ignored);
  }

  // ---- the connection's deadline: every client-side read and write must end before its own,
  // or the connection is closed (as a stream expiry would do, without a timer per operation:
  // the worker's DeadlineQueue holds the connection for the earliest, and the entry moves
  // only when that moves earlier). A read and a write may be pending together (an answer
  // relayed beside a body read), each with its deadline.

  void arm_deadline() {
    const auto deadline = deadlines_.next();
    if (deadline != Clock::time_point::max()) worker_.deadlines().expire_by(*this, deadline);
  }

  void on_expiry() override {
    if (Clock::now() < deadlines_.next()) return arm_deadline();  // moved later, or none
    close_socket();
  }

  void read_within(Clock::duration timeout) {
    deadlines_.read(Clock::now() + timeout);
    arm_deadline();
  }

  void on_handshake(error_code ec) {
    SSL* ssl = stream_.native_handle();
    const ClientCertVerifier* verifier = tls_ ? tls_->client_verifier() : nullptr;
    if (ec) {
      // REJECT_INVALID refused the client's certificate: logged as GCP logs a closed
      // connection (status 0, the client_cert_* reason in statusDetails).
      if (verifier != nullptr) {
        const unsigned long code = ec.category() == asio::error::get_ssl_category()
                                       ? static_cast<unsigned long>(ec.value())
                                       : 0;
        if (const std::string_view reason = verifier->rejection(ssl, code); !reason.empty()) {
          log_rejected_handshake(worker_, info_, reason);
        }
      }
      return force_close();
    }
    auto tls = std::make_unique<ClientTlsInfo>();
    if (verifier != nullptr) tls->client_cert = verifier->inspect(ssl);
    // The SNI ends up in header values ({tls_sni_hostname}) and logs: take only host-name
    // characters, anything else (CR/LF above all) counts as no SNI.
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        sni != nullptr && is_plain_host_name(sni)) {
      tls->sni = sni;
    }
    tls->version = SSL_get_version(ssl);  // static names: views suffice
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
      tls->cipher = SSL_CIPHER_get_name(cipher);
      char id[8];
      std::snprintf(id, sizeof id, "%04X", SSL_CIPHER_get_protocol_id(cipher));
      tls->cipher_id = id;
    }
    if (tls_ && tls_->computes_fingerprints()) {
      TlsFingerprints fingerprints = ServerTls::take_fingerprints(ssl);
      tls->ja3_fingerprint = std::move(fingerprints.ja3);
      tls->ja4_fingerprint = std::move(fingerprints.ja4);
    }
    info_.tls = std::move(tls);
    const unsigned char* protocol = nullptr;
    unsigned int protocol_length = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &protocol_length);
    if (std::string_view(reinterpret_cast<const char*>(protocol), protocol_length) == "h2") {
      // The client chose HTTP/2: the connection goes on as one, and this object ends here.
      closed_ = true;
      return start_http2(worker_, std::move(stream_), std::move(info_), tls_);
    }
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
    release_request_storage();
    waiting_.reset();
    read_within(keepalive_timeout());
    read_idle(stream_, buffer_, kIdleReadSize,
              [self = this->shared_from_this()](error_code ec, std::size_t n) {
                self->deadlines_.read_done();
                if (ec) return self->force_close();
                self->buffer_.commit(n);
                self->do_read_header();
              });
  }

  void do_read_header() {
    prepare_head();
    body_read_cancelled_ = false;
    // Usually the whole head arrived with the first read: parse it in place, with no timer and
    // no read operation. Otherwise (need_more) the rest is read below.
    if (buffer_.size() > 0) {
      const error_code ec = parse_buffered_head();
      if (ec != http::error::need_more) return on_head(ec);
    }
    // A timer of its own rather than the connection's deadline: the deadline closes the socket
    // when it passes, and a slow head still deserves its 408.
    header_timed_out_ = false;
    const auto generation = ++header_reads_;
    if (!header_timer_) header_timer_ = worker_.take_timer();
    header_timer_->expires_after(worker_.timeouts().request_header);
    header_timer_->async_wait([self = this->shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->header_reads_ || self->closed_) return;
      self->header_timed_out_ = true;
      error_code ignored;
      self->lowest().cancel(ignored);
    });
    read_more_head();
  }

  /// Reads until the head is complete (what http::async_read_header does, but every byte the
  /// parser takes passes the head checks).
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
    ++header_reads_;                                    // disarms a timer that fired meanwhile
    worker_.give_back_timer(std::move(header_timer_));  // cancelled
    if (ec && header_timed_out_) ec = beast::error::timeout;
    // The client closed mid-head: Beast's read would call that a partial message (400).
    if (ec == asio::error::eof && head_bytes_ + buffer_.size() > 0)
      ec = http::error::partial_message;
    on_head(ec);
  }

  void on_head(error_code ec) {
    if (!on_head_parsed(ec)) force_close();
  }

  // ---- reading the request body

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
                                self->parser().put_eof(ec);
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
  void on_body_read(SizeHandler& handler, error_code ec, std::size_t n) {
    body_read_pending_ = false;
    if (waiting_ && waiting_->after_body_read)
      return std::exchange(waiting_->after_body_read, nullptr)(ec, n);
    handler(ec, n);
  }

  /// Writes 100 Continue, then reads the body (a response write asked for meanwhile waits).
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
                        if (auto queued = self->take_queued_write()) queued();
                        if (ec) return self->on_body_read(handler, ec, 0);
                        self->body_read_pending_ = false;
                        self->read_body(std::move(handler));
                      });
  }

  // ---- writing the response

  /// A write asked for while 100 Continue goes out follows it.
  void send_wire(SizeHandler handler) override {
    if (continue_in_flight_) {
      waiting().queued_write = [this, handler = std::move(handler)]() mutable {
        send_wire(std::move(handler));
      };
      return;
    }
    deadlines_.write(Clock::now() + keepalive_timeout());
    arm_deadline();
    write_eager(stream_, wire_->out,
                [self = this->shared_from_this(), handler = std::move(handler)](
                    error_code ec, std::size_t n) mutable {
                  self->deadlines_.write_done();
                  handler(ec, n);
                });
  }

  // ---- after the request

  /// The answer was written whole. A request body still arriving is read and dropped first
  /// when the connection stays (can_keep_alive said it may, at most kDiscardBodyLimit bytes);
  /// otherwise the close lingers until the client stops sending (do_close).
  void finish_request(bool keep_alive) {
    // A body whose framing broke cannot be told from what follows it: the connection closes.
    if (body_malformed_) keep_alive = false;
    if (body_read_pending_) {
      // The request ended (an early answer) while a read of its body waits for the client.
      // Kept, the connection drops that piece as the rest of the body; closing, it ends the
      // read (also one about to start, behind a 100 Continue) and lingers.
      waiting().after_body_read = [this, keep_alive](error_code ec, std::size_t n) {
        discarded_ += n;
        finish_request(keep_alive && !ec);
      };
      if (!keep_alive) {
        body_read_cancelled_ = true;
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
      if (ec) return self->finish_request(false);
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

  Stream stream_;
  // Keeps the SNI callback's object alive.
  [[no_unique_address]] std::conditional_t<kIsTls<Stream>, std::shared_ptr<ServerTls>, NoServerTls>
      tls_;
  ConnectionDeadlines deadlines_;
  // The worker's, lent while a head takes more than one read.
  std::unique_ptr<Worker::SteadyTimer> header_timer_;
  uint64_t header_reads_ = 0;
  /// Handlers a request leaves waiting on the connection, made only when one does: an idle
  /// connection holds none.
  struct Waiting {
    std::move_only_function<void()> queued_write;  // a response write behind 100 Continue
    SizeHandler after_body_read;                   // takes over a body read the request left behind
  };
  Waiting& waiting() {
    if (!waiting_) waiting_ = std::make_unique<Waiting>();
    return *waiting_;
  }
  std::move_only_function<void()> take_queued_write() {
    return waiting_ ? std::exchange(waiting_->queued_write, nullptr) : nullptr;
  }
  std::unique_ptr<Waiting> waiting_;
  // The flags together: an idle connection's size decides its allocation's size class.
  bool header_timed_out_ = false;
  bool continue_in_flight_ = false;
  bool body_read_pending_ = false;
  bool body_read_cancelled_ = false;  // the request is over and the connection closes
  Clock::time_point linger_end_;
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
