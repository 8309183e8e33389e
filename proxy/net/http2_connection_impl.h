#pragma once
// The Http2Connection template: an Http2Session over a stream. Production instantiates it for
// TLS streams only (http2_connection.cc, after ALPN chose h2); the HTTP/2 session fuzz target
// (tests/fuzz) instantiates it over a plain socket, which albemu never serves HTTP/2 on.

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>

#include "proxy/net/deadline_queue.h"
#include "proxy/net/http2_connection.h"
#include "proxy/net/http2_session.h"

namespace albemu::net {

/// An HTTP/2 session over a stream: reads feed the codec, the codec's frames are written one
/// batch at a time. One deadline closes the connection once it idled (no stream open) for the
/// keepalive timeout, with a GOAWAY first, or once a write stalled for as long.
template <class Stream>
class Http2Connection final : public Http2Session,
                              public DeadlineQueue::Entry,
                              public std::enable_shared_from_this<Http2Connection<Stream>> {
 public:
  Http2Connection(Worker& worker, Stream stream, ConnectionInfo info,
                  std::shared_ptr<ServerTls> tls)
      : Http2Session(worker, std::move(info)), stream_(std::move(stream)), tls_(std::move(tls)) {}

  ~Http2Connection() override { worker().give_back_chunk(std::move(read_buffer_)); }

  void start() {
    if (!start_codec()) return force_close();
    idle_since_ = Clock::now();
    arm_timer();
    flush();
    read();
  }

  std::shared_ptr<void> keepalive() override { return this->shared_from_this(); }

  void force_close() override {
    if (!closed_) close_now();
  }

 private:
  using error_code = boost::system::error_code;

  static constexpr bool kIsTls = std::is_same_v<Stream, ClientTlsStream>;
  /// Reads from the client ask for up to this much (a TLS record's plaintext).
  static constexpr std::size_t kReadSize = 16 * 1024;
  static_assert(kReadSize <= kBodyChunkSize);
  /// How long a connection that sent its last frame still reads and drops what comes.
  static constexpr std::chrono::seconds kEndLinger{2};

  /// The read buffer is one of the worker's body chunks, lent while a read has bytes to put in
  /// it (over TLS: from a try of SSL_read that may find a record to the codec having taken the
  /// bytes, which it copies), so an idle connection holds none.
  struct LentReadBuffer {
    Http2Connection* connection;
    boost::asio::mutable_buffer acquire() const { return connection->read_buffer(); }
    void would_block() const { connection->give_back_read_buffer(); }
  };
  boost::asio::mutable_buffer read_buffer() {
    if (!read_buffer_) read_buffer_ = worker().take_chunk();
    return {read_buffer_.get(), kReadSize};
  }
  void give_back_read_buffer() { worker().give_back_chunk(std::move(read_buffer_)); }

  void read() {
    auto on_read = [self = this->shared_from_this()](error_code ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) return self->force_close();
      // A connection error stops the reads: the codec's GOAWAY goes out, then the connection
      // closes.
      // The chunk goes back only for the next read: a connection that ended may be reading
      // into it already (a lingering close started inside on_bytes).
      if (!self->on_bytes(self->read_buffer_.get(), n)) return;
      self->give_back_read_buffer();
      self->read();
    };
    if constexpr (kIsTls) {
      stream_.async_read_some_lazy(LentReadBuffer{this}, std::move(on_read));
    } else {
      stream_.async_read_some(read_buffer(), std::move(on_read));  // the fuzz target's socket
    }
  }

  void write_out(std::string_view bytes) override {
    write_started_ = Clock::now();
    arm_timer();
    boost::asio::async_write(
        stream_, boost::asio::buffer(bytes.data(), bytes.size()),
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(!ec); });
  }

  void close_transport() override {
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).close(ignored);
    DeadlineQueue::cancel(*this);
  }

  /// As HTTP/1's lingering close: close_notify alone (marking the client's as received, so
  /// that the shutdown does not wait for it), the write side shut, then what the client still
  /// sends is read and dropped for at most kEndLinger: closing with unread bytes would reset
  /// the connection, and the client could lose the GOAWAY.
  void end_transport() override {
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).cancel(ignored);  // the pending read ends
    // The close_notify may wait for room in the socket: a client that reads nothing more gets
    // as long as a lingering close, then the connection closes.
    close_within_linger();
    if constexpr (kIsTls) {
      SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
      stream_.async_shutdown([self = this->shared_from_this()](error_code ec) {
        if (ec) return self->close_transport();
        self->shut_send_and_linger();
      });
    } else {
      shut_send_and_linger();
    }
  }

  /// From now on the connection's only deadline is the end of the lingering close, kEndLinger
  /// from now (on_expiry closes it then).
  void close_within_linger() {
    linger_end_ = Clock::now() + kEndLinger;
    lingering_ = true;
    worker().deadlines().expire_by(*this, linger_end_);
  }

  void shut_send_and_linger() {
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).shutdown(boost::asio::socket_base::shutdown_send,
                                                     ignored);
    close_within_linger();
    linger();
  }

  void linger() {
    if (Clock::now() >= linger_end_) return close_transport();
    boost::beast::get_lowest_layer(stream_).async_read_some(
        read_buffer(), [self = this->shared_from_this()](error_code ec, std::size_t) {
          if (ec) return self->close_transport();
          self->linger();
        });
  }

  void idle_changed() override {
    if (idle()) {
      idle_since_ = Clock::now();
      arm_timer();
    }
  }

  /// When the timer must fire: the end of the idle time, or of a stalled write.
  Clock::time_point deadline() {
    auto at = Clock::time_point::max();
    if (idle()) at = idle_since_ + keepalive_timeout();
    if (writing()) at = std::min(at, write_started_ + keepalive_timeout());
    return at;
  }

  /// The worker's DeadlineQueue holds the connection for its deadline; the entry moves only
  /// when the deadline moves earlier, and one that comes early queues it again.
  void arm_timer() {
    const auto at = deadline();
    if (at != Clock::time_point::max()) worker().deadlines().expire_by(*this, at);
  }

  void on_expiry() override {
    if (lingering_) {
      if (Clock::now() < linger_end_) return worker().deadlines().expire_by(*this, linger_end_);
      return close_transport();
    }
    if (closed_) return;
    const auto at = deadline();
    if (at == Clock::time_point::max()) return;
    if (Clock::now() < at) return arm_timer();
    if (writing()) return force_close();  // the client stopped reading
    idle_timeout();
  }

  Stream stream_;
  std::shared_ptr<ServerTls> tls_;  // keeps the SNI callback's object alive
  bool lingering_ = false;          // the deadline is linger_end_
  Clock::time_point idle_since_;
  Clock::time_point write_started_;
  Clock::time_point linger_end_;
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace albemu::net
