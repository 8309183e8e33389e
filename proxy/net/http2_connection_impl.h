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

#include "proxy/net/http2_connection.h"
#include "proxy/net/http2_session.h"

namespace albemu::net {

/// An HTTP/2 session over a stream: reads feed the codec, the codec's frames are written one
/// batch at a time. One timer closes the connection once it idled (no stream open) for the
/// keepalive timeout, with a GOAWAY first, or once a write stalled for as long.
template <class Stream>
class Http2Connection final : public Http2Session,
                              public std::enable_shared_from_this<Http2Connection<Stream>> {
 public:
  Http2Connection(Worker& worker, Stream stream, ConnectionInfo info,
                  std::shared_ptr<ServerTls> tls)
      : Http2Session(worker, std::move(info)),
        stream_(std::move(stream)),
        tls_(std::move(tls)),
        timer_(worker.io_context().get_executor()),
        read_buffer_(std::make_unique_for_overwrite<char[]>(kReadSize)) {}

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
  /// Reads from the client ask for up to this much.
  static constexpr std::size_t kReadSize = 16 * 1024;
  /// How long a connection that sent its last frame still reads and drops what comes.
  static constexpr std::chrono::seconds kEndLinger{2};

  void read() {
    stream_.async_read_some(boost::asio::buffer(read_buffer_.get(), kReadSize),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->force_close();
                              // A connection error stops the reads: the codec's GOAWAY goes
                              // out, then the connection closes.
                              if (self->on_bytes(self->read_buffer_.get(), n)) self->read();
                            });
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
    timer_.cancel();
  }

  /// As HTTP/1's lingering close: close_notify alone (marking the client's as received, so
  /// that the shutdown does not wait for it), the write side shut, then what the client still
  /// sends is read and dropped for at most kEndLinger: closing with unread bytes would reset
  /// the connection, and the client could lose the GOAWAY.
  void end_transport() override {
    timer_.cancel();
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).cancel(ignored);  // the pending read ends
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

  void shut_send_and_linger() {
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).shutdown(boost::asio::socket_base::shutdown_send,
                                                     ignored);
    linger_end_ = Clock::now() + kEndLinger;
    linger();
  }

  void linger() {
    if (Clock::now() >= linger_end_) return close_transport();
    timer_.expires_at(linger_end_);
    timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->close_transport();
    });
    boost::beast::get_lowest_layer(stream_).async_read_some(
        boost::asio::buffer(read_buffer_.get(), kReadSize),
        [self = this->shared_from_this()](error_code ec, std::size_t) {
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

  /// Re-armed only when the deadline moves earlier than the armed expiry; a timer that fires
  /// early re-arms itself.
  void arm_timer() {
    const auto at = deadline();
    if (at == Clock::time_point::max() || (timer_armed_ && expiry_ <= at)) return;
    timer_armed_ = true;
    expiry_ = at;
    timer_.expires_at(at);
    timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
      const auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      self->timer_armed_ = false;
      const auto at = self->deadline();
      if (at == Clock::time_point::max()) return;
      if (Clock::now() < at) return self->arm_timer();
      if (self->writing()) return self->force_close();  // the client stopped reading
      self->idle_timeout();
    });
  }

  Stream stream_;
  std::shared_ptr<ServerTls> tls_;  // keeps the SNI callback's object alive
  Worker::SteadyTimer timer_;
  Clock::time_point expiry_;
  bool timer_armed_ = false;
  Clock::time_point idle_since_;
  Clock::time_point write_started_;
  Clock::time_point linger_end_;
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace albemu::net
