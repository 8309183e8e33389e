#pragma once
// The proxied path's reads and writes on a plain (not TLS) socket, shaped the way nginx does
// its I/O rather than the way Asio does by default. Both were measured on the proxied path with
// an interleaved A/B against the build before them (bench/e2e configs, wrk, 16 connections).
//
// write_eager: a write that is tried at once and, when it goes out whole (a head and a small
// body almost always do), calls its handler inside the call. Through asio::async_write the
// completion would join the back of the io_context's queue, behind the reactor's next turn.
// A write that does not go out whole continues as asio::async_write.
//
// async_read_answer: the read of a peer's answer to a request that write_eager just sent whole,
// started in the write's handler. Asio tries every read at once (a "speculative" recv) before
// it waits for epoll; for an answer the peer cannot have produced yet, that recv always fails
// with EAGAIN. This read skips that one attempt and waits for epoll. That is safe only because
// no epoll_wait ran since the write: whatever the peer sends now (the answer, or the RST a dead
// peer answers the write with) raises a new edge, and a byte that came earlier would have been
// seen by the write's caller. After that first wait the read is Asio's own reactor operation,
// queued, cancelled and closed like any other.
//
// (Skipping the attempt on every read after a short one, as nginx does, needs EPOLLRDHUP: a
// peer's FIN that arrived with the last bytes raises no further edge, and Asio does not
// register for it.)
//
// The read reaches into Asio's reactor (boost/asio/detail), which Boost does not promise to
// keep; the static_assert below stops the build if the reactor it was written for is not the
// one in use.

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_service.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace albemu::net {

namespace socket_io_detail {

namespace asio = boost::asio;
using Socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;
using Service = asio::detail::reactive_socket_service<asio::ip::tcp>;

static_assert(std::is_same_v<asio::detail::reactor, asio::detail::epoll_reactor>,
              "written for Asio's epoll reactor");

/// The socket's implementation and its service, which basic_socket keeps protected.
struct SocketAccess : Socket {
  static auto& impl(Socket& socket) { return socket.*(&SocketAccess::impl_); }
};

/// The service's start_op (protected): sets the socket non-blocking once and hands the
/// operation to the reactor, which performs it at once (the speculative attempt) and queues it
/// for epoll if that does not finish it.
struct ServiceAccess : asio::detail::reactive_socket_service_base {
  static void start_read(asio::detail::reactive_socket_service_base& service,
                         base_implementation_type& impl, asio::detail::reactor_op* op) {
    (service.*(&ServiceAccess::start_op))(impl, asio::detail::reactor::read_op, op,
                                          /*is_continuation=*/false,
                                          /*is_non_blocking=*/true, /*noop=*/false);
  }
};

template <class Handler>
class ReadOp final : public asio::detail::reactor_op {
 public:
  using Allocator = asio::recycling_allocator<ReadOp>;

  ReadOp(asio::detail::socket_type socket, asio::mutable_buffer buffer, Handler&& handler)
      : reactor_op(boost::system::error_code(), &ReadOp::do_perform, &ReadOp::do_complete),
        socket_(socket),
        buffer_(buffer),
        handler_(std::move(handler)) {}

  /// While set, performing the read is "would block" without a system call.
  bool skip_attempt = false;

 private:
  /// What Asio's own read does: EINTR retried, 0 bytes an end of stream, which alone tells
  /// the reactor the socket is exhausted.
  static status do_perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    if (op->skip_attempt) return not_done;
    if (!asio::detail::socket_ops::non_blocking_recv1(op->socket_, op->buffer_.data(),
                                                      op->buffer_.size(), 0, true, op->ec_,
                                                      op->bytes_transferred_)) {
      return not_done;
    }
    return op->bytes_transferred_ == 0 ? done_and_exhausted : done;
  }

  /// `owner` is null when the io_context is destroyed with the read still queued: the
  /// operation is freed without calling the handler, as Asio's own operations are.
  static void do_complete(void* owner, asio::detail::scheduler_operation* base,
                          const boost::system::error_code& /*ignored*/, std::size_t /*ignored*/) {
    auto* op = static_cast<ReadOp*>(base);
    Handler handler(std::move(op->handler_));
    const boost::system::error_code ec = op->ec_;
    const std::size_t bytes = op->bytes_transferred_;
    op->~ReadOp();
    Allocator().deallocate(op, 1);
    if (owner) std::move(handler)(ec, bytes);
  }

  asio::detail::socket_type socket_;
  asio::mutable_buffer buffer_;
  Handler handler_;
};

}  // namespace socket_io_detail

/// async_read_some for the answer to what write_eager just sent whole on this plain socket of
/// a worker's io_context, called from that write's handler (see the top of this file). The
/// handler gets (error_code, bytes) on the io_context, never inline.
template <class Handler>
void async_read_answer(socket_io_detail::Socket& socket, boost::asio::mutable_buffer buffer,
                       Handler handler) {
  using Op = socket_io_detail::ReadOp<Handler>;
  auto& impl = socket_io_detail::SocketAccess::impl(socket);
  typename Op::Allocator allocator;
  Op* op = allocator.allocate(1);
  new (op) Op(impl.get_implementation().socket_, buffer, std::move(handler));
  op->skip_attempt = true;
  socket_io_detail::ServiceAccess::start_read(impl.get_service(), impl.get_implementation(), op);
  // Still alive: queued for epoll, or (a closed socket) posted with its error, never run
  // inline. Every later attempt, from epoll's edge, reads.
  op->skip_attempt = false;
}

/// asio::async_write for a plain socket of a worker's io_context, tried at once: when every
/// byte goes out, `handler(error_code, bytes)` runs before this call returns, so a caller must
/// not touch state after the call that the handler may have changed. Otherwise (the socket is
/// full, too many pieces, an error) the rest goes through asio::async_write and the handler
/// runs later on the io_context, with the bytes of both parts.
template <class ConstBuffers, class Handler>
void write_eager(socket_io_detail::Socket& socket, const ConstBuffers& buffers, Handler handler) {
  std::array<iovec, 8> pieces;
  std::size_t count = 0;
  std::size_t total = 0;
  bool fits = true;
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers); ++it) {
    const boost::asio::const_buffer piece(*it);
    if (piece.size() == 0) continue;
    if (count == pieces.size()) {
      fits = false;
      break;
    }
    pieces[count++] = iovec{const_cast<void*>(piece.data()), piece.size()};
    total += piece.size();
  }
  std::size_t sent = 0;
  if (fits && socket.is_open()) {
    msghdr message{};
    message.msg_iov = pieces.data();
    message.msg_iovlen = count;
    ssize_t n;
    do {
      n = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(total))
      return std::move(handler)(boost::system::error_code(), total);
    // An error is left to async_write, which meets it again and reports it the usual way.
    if (n > 0) sent = static_cast<std::size_t>(n);
  }
  boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(sent);
  boost::asio::async_write(
      socket, rest,
      [sent, handler = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
        std::move(handler)(ec, sent + n);
      });
}

/// The same call for any other stream (TLS): asio::async_write.
template <class Stream, class ConstBuffers, class Handler>
requires(!std::is_same_v<Stream, socket_io_detail::Socket>) void write_eager(
    Stream& stream, const ConstBuffers& buffers, Handler handler) {
  boost::asio::async_write(stream, buffers, std::move(handler));
}

}  // namespace albemu::net
