#pragma once
// A socket read that remembers when it drained the socket.
//
// Asio tries every read at once (a "speculative" recv) and waits for epoll only if that fails.
// It stops trying only after an end of stream: after a short read, the next read still calls
// recv, which fails with EAGAIN whenever the peer has not answered yet. On the proxied path that
// is more than one wasted system call per request (the idle client read and the backend's
// answer). A short TCP read means the receive queue was empty, so this read reports it to the
// reactor as "exhausted". The reactor then skips the trial recv until epoll signals new data,
// which is what nginx does with its ready flag. Nothing else changes: the read is Asio's own
// reactor operation, queued, cancelled and closed like any other.
//
// This reaches into Asio's reactor (boost/asio/detail), which Boost does not promise to keep;
// the static_asserts below stop the build if the reactor it was written for is not the one in use.

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_service.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace albemu::net {

namespace drained_read_detail {

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
/// operation to the reactor, with a speculative attempt unless the last read drained it.
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

 private:
  static status do_perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    // Retries EINTR, turns 0 bytes into eof; false means "would block".
    if (!asio::detail::socket_ops::non_blocking_recv1(op->socket_, op->buffer_.data(),
                                                      op->buffer_.size(), 0, true, op->ec_,
                                                      op->bytes_transferred_)) {
      return not_done;
    }
    return op->bytes_transferred_ < op->buffer_.size() ? done_and_exhausted : done;
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

}  // namespace drained_read_detail

/// async_read_some for a plain TCP socket of a worker's io_context: the handler gets
/// (error_code, bytes) on that io_context, never inline. `buffer` must not be empty.
template <class Handler>
void async_read_drained(drained_read_detail::Socket& socket, boost::asio::mutable_buffer buffer,
                        Handler handler) {
  using Op = drained_read_detail::ReadOp<Handler>;
  auto& impl = drained_read_detail::SocketAccess::impl(socket);
  typename Op::Allocator allocator;
  Op* op = allocator.allocate(1);
  new (op) Op(impl.get_implementation().socket_, buffer, std::move(handler));
  drained_read_detail::ServiceAccess::start_read(impl.get_service(), impl.get_implementation(), op);
}

/// The same call for any other stream (TLS): its own async_read_some.
template <class Stream, class Handler>
requires(!std::is_same_v<Stream, drained_read_detail::Socket>) void async_read_drained(
    Stream& stream, boost::asio::mutable_buffer buffer, Handler handler) {
  stream.async_read_some(buffer, std::move(handler));
}

}  // namespace albemu::net
