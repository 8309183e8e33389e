#pragma once
// Writes on the proxied path, done the way nginx does them rather than the way Asio does.
//
// asio::async_write tries the send at once too, but its completion is always posted: it joins
// the back of the io_context's queue, behind the reactor's next turn, so every write costs a
// queue round and, often, one more epoll_wait. write_eager calls the handler inside the call
// when every byte went out, which a head and a small body almost always do. Measured with an
// interleaved A/B against the build before it (bench/e2e configs, wrk, 16 connections):
// about 2% less CPU per proxied request.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace albemu::net {

/// A plain TCP socket of a worker's io_context (the type of ClientSocket and of a backend
/// connection's socket).
using PlainSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

namespace socket_io_detail {
/// How many write_eager handlers may be running inside one another on this thread. A handler
/// that writes again (a response relayed chunk by chunk from one buffer) would otherwise
/// deepen the stack by one write per chunk, without bound; past this depth the write's
/// completion is posted instead, as asio::async_write's always is.
inline constexpr int kMaxInlineDepth = 8;
inline thread_local int inline_depth = 0;
}  // namespace socket_io_detail

/// asio::async_write for a plain socket, tried at once. When every byte goes out,
/// `handler(error_code, bytes)` runs before this call returns: the caller must not touch,
/// after the call, state the handler may change, and must hold a reference to itself in the
/// handler if the handler may end it. Otherwise the handler runs later on the io_context:
/// - the socket took part of the bytes, or none (full), or there are many pieces, or nothing
///   to write, or 8 handlers of this thread are already running inside one another: the rest
///   goes through asio::async_write, and the handler gets the bytes of both parts;
/// - the send failed (the peer reset the connection, the socket is closed): the error is
///   posted.
/// As with asio::async_write, no other write may be pending on the socket. The handler's
/// associated executor, allocator and cancellation slot are not used: it runs on the
/// io_context's thread, which is what a worker's handlers expect.
template <class ConstBuffers, class Handler>
void write_eager(PlainSocket& socket, const ConstBuffers& buffers, Handler handler) {
  namespace asio = boost::asio;
  using socket_io_detail::inline_depth;
  std::array<iovec, 8> pieces;
  std::size_t count = 0;
  std::size_t total = 0;
  bool fits = true;
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
       ++it) {
    const asio::const_buffer piece(*it);
    if (piece.size() == 0) continue;
    if (count == pieces.size()) {
      fits = false;
      break;
    }
    pieces[count++] = iovec{const_cast<void*>(piece.data()), piece.size()};
    total += piece.size();
  }
  std::size_t sent = 0;
  if (fits && total > 0 && socket.is_open() && inline_depth < socket_io_detail::kMaxInlineDepth) {
    msghdr message{};
    message.msg_iov = pieces.data();
    message.msg_iovlen = count;
    ssize_t n;
    do {
      n = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(total)) {
      ++inline_depth;
      std::move(handler)(boost::system::error_code(), total);
      --inline_depth;
      return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      const boost::system::error_code ec(errno, boost::system::system_category());
      asio::post(socket.get_executor(), [ec, handler = std::move(handler)]() mutable {
        std::move(handler)(ec, std::size_t{0});
      });
      return;
    }
    if (n > 0) sent = static_cast<std::size_t>(n);
  }
  boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(sent);
  asio::async_write(
      socket, rest,
      [sent, handler = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
        std::move(handler)(ec, sent + n);
      });
}

/// The same call for any other stream (TLS): asio::async_write.
template <class Stream, class ConstBuffers, class Handler>
requires(!std::is_same_v<Stream, PlainSocket>) void write_eager(Stream& stream,
                                                                const ConstBuffers& buffers,
                                                                Handler handler) {
  boost::asio::async_write(stream, buffers, std::move(handler));
}

}  // namespace albemu::net
