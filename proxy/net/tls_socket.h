#pragma once
// The TLS stream of client connections. OpenSSL reads and writes the socket itself, through a
// BIO over the socket's descriptor (as nginx does), where asio::ssl::stream hands every record
// through a pair of memory BIOs and two 17 KiB buffers of its own. Each record is read and
// written once, with one system call, and an idle connection holds no record buffer at all:
// OpenSSL's are released while nothing is buffered (SSL_MODE_RELEASE_BUFFERS).
//
// When OpenSSL needs the socket readable or writable, the operation waits for that through the
// socket's reactor (wait_readable, socket_io.h, or async_wait for writable) and tries again. As
// with asio::ssl::stream, one read and one write may be pending together, a handshake or a shutdown
// alone; a handler never runs inside the call that started its operation.

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <type_traits>
#include <utility>

#include "proxy/net/http1_connection.h"
#include "proxy/net/socket_io.h"

namespace albemu::net {

class TlsSocket {
 public:
  using executor_type = ClientSocket::executor_type;
  using next_layer_type = ClientSocket;
  using lowest_layer_type = ClientSocket::lowest_layer_type;

  /// Takes `socket` for the server side of a TLS connection with `context`'s settings (its SNI,
  /// ALPN and verification callbacks included). Throws std::bad_alloc if OpenSSL cannot
  /// allocate the connection.
  TlsSocket(ClientSocket socket, boost::asio::ssl::context& context);
  /// Only while no operation is pending (a connection handing itself to another protocol).
  TlsSocket(TlsSocket&& other) noexcept;
  TlsSocket& operator=(TlsSocket&&) = delete;
  ~TlsSocket();

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  ClientSocket& next_layer() noexcept { return socket_; }
  lowest_layer_type& lowest_layer() noexcept { return socket_.lowest_layer(); }
  SSL* native_handle() noexcept { return ssl_; }

  /// The server's handshake; handler(error_code). A failed verification of the client's
  /// certificate comes as OpenSSL's error code in asio::error::get_ssl_category().
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return start<void(boost::system::error_code)>(
        [](TlsSocket& self) { return self.attempt(Kind::handshake, nullptr, 0); },
        std::forward<Handler>(handler));
  }

  /// Sends close_notify; handler(error_code). It does not wait for the client's: callers mark
  /// it received first (SSL_RECEIVED_SHUTDOWN) and drop what the client still sends.
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return start<void(boost::system::error_code)>(
        [](TlsSocket& self) { return self.attempt(Kind::shutdown, nullptr, 0); },
        std::forward<Handler>(handler));
  }

  /// Reads into the first non-empty buffer; handler(error_code, std::size_t). The client's
  /// close_notify ends the stream with asio::error::eof, a close without it with
  /// asio::ssl::error::stream_truncated.
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && first.size() == 0; ++it) {
      first = *it;
    }
    return start<void(boost::system::error_code, std::size_t)>(
        [first](TlsSocket& self) { return self.attempt(Kind::read, first.data(), first.size()); },
        std::forward<Handler>(handler));
  }

  /// async_read_some into a buffer the read asks for only when it may have bytes to put in it:
  /// `target.acquire()` gives it before each try of SSL_read, `target.would_block()` takes it
  /// back when the try found no whole record and the read waits for the socket (OpenSSL keeps
  /// a partial record in its own buffer meanwhile). A connection waiting for its next request
  /// so holds no read buffer. The bytes are in the buffer of the last acquire().
  template <class Target, class Handler>
  auto async_read_some_lazy(Target target, Handler&& handler) {
    return start<void(boost::system::error_code, std::size_t)>(
        [target](TlsSocket& self) {
          const boost::asio::mutable_buffer buffer = target.acquire();
          Outcome outcome = self.attempt(Kind::read, buffer.data(), buffer.size());
          if (outcome.want != Want::nothing) target.would_block();
          return outcome;
        },
        std::forward<Handler>(handler));
  }

  /// Writes one record of up to 16 KiB, gathered from `buffers`; handler(error_code,
  /// std::size_t). The buffers must stay valid and unchanged until the handler runs.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return start<void(boost::system::error_code, std::size_t)>(
        [buffers](TlsSocket& self) { return self.attempt_write(buffers); },
        std::forward<Handler>(handler));
  }

 private:
  enum class Kind : uint8_t { handshake, read, write, shutdown };
  enum class Want : uint8_t { nothing, readable, writable };

  /// What one try of an operation came to: done (with its error and size), or to be tried
  /// again once the socket is readable or writable.
  struct Outcome {
    Want want = Want::nothing;
    boost::system::error_code ec;
    std::size_t size = 0;
  };

  /// The largest plaintext of one TLS record.
  static constexpr std::size_t kRecordSize = 16 * 1024;

  /// One try of `kind` (SSL_do_handshake, SSL_read_ex, SSL_write_ex or SSL_shutdown).
  Outcome attempt(Kind kind, void* data, std::size_t size);

  /// One try of a write: a single buffer as it is, several gathered into one record (a
  /// response head and its body go out in one record and one send).
  template <class ConstBuffers>
  Outcome attempt_write(const ConstBuffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const boost::asio::const_buffer first = *it;
    if (first.size() >= kRecordSize || std::next(it) == end) {
      return attempt(Kind::write, const_cast<void*>(first.data()), first.size());
    }
    char* gathered = gather_buffer();
    std::size_t size = 0;
    for (; it != end && size < kRecordSize; ++it) {
      const boost::asio::const_buffer piece = *it;
      const std::size_t n = std::min(piece.size(), kRecordSize - size);
      if (n > 0) std::memcpy(gathered + size, piece.data(), n);
      size += n;
    }
    // A retried write presents the same bytes from the same place (the caller's buffers are
    // unchanged until the handler runs); OpenSSL accepts the gathered copy anew
    // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
    return attempt(Kind::write, gathered, size);
  }

  /// The worker thread's buffer for gathering a write (used only within one attempt).
  static char* gather_buffer();

  /// An operation: tries, waits for the socket as OpenSSL asks, tries again. A result on the
  /// first try is posted, never handed to the handler inside the initiating call.
  template <class Signature, class Attempt>
  struct Operation {
    TlsSocket& socket;
    Attempt attempt;
    Outcome outcome{};
    bool started = false;
    bool posted = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code wait_error = {}) {
      if (!posted) {
        if (wait_error) {
          outcome = {Want::nothing, wait_error, 0};  // closed or cancelled while waiting
        } else {
          outcome = attempt(socket);
        }
        if (outcome.want != Want::nothing) {
          started = true;
          if (outcome.want == Want::readable) return wait_readable(socket.socket_, std::move(self));
          socket.socket_.async_wait(ClientSocket::wait_write, std::move(self));
          return;
        }
        if (!started) {
          posted = true;
          return boost::asio::post(std::move(self));
        }
      }
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (std::is_same_v<Signature, void(boost::system::error_code, std::size_t)>) {
        self.complete(outcome.ec, outcome.size);
      } else {
        self.complete(outcome.ec);
      }
    }
  };

  template <class Signature, class Attempt, class Handler>
  auto start(Attempt attempt, Handler&& handler) {
    return boost::asio::async_compose<Handler, Signature>(
        Operation<Signature, Attempt>{*this, std::move(attempt)}, handler, socket_);
  }

  ClientSocket socket_;
  SSL* ssl_;
};

}  // namespace albemu::net
