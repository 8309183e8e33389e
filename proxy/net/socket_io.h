#pragma once
// Reads and writes on the proxied path's plain sockets, done the way nginx does them rather
// than the way Asio does.
//
// Writes: asio::async_write tries the send at once too, but its completion is always posted: it
// joins the back of the io_context's queue, behind the reactor's next turn, so every write costs
// a queue round and, often, one more epoll_wait. write_eager calls the handler inside the call
// when every byte went out, which a head and a small body almost always do. Measured with an
// interleaved A/B against the build before it (bench/e2e configs, wrk, 16 connections):
// about 2% less CPU per proxied request.
//
// Reads: Asio tries every read at once (a "speculative" recv) and waits for epoll only if that
// fails. It stops trying only after an end of stream: after a read that emptied the socket, the
// next read still calls recv, which fails with EAGAIN whenever the peer has not answered yet.
// On the proxied path that is two wasted system calls per request (the idle client read and
// the backend's answer). nginx skips them with its ready flag, which it clears after a short
// read unless epoll reported EPOLLRDHUP: a FIN that comes with the last bytes raises no edge of
// its own, so a socket must not be called drained while a FIN waits in it.
//
// read_drained does the same inside Asio's reactor. enable_drained_reads adds EPOLLRDHUP to
// the socket's epoll registration, so the events epoll reports show a waiting FIN, as they
// always show urgent data, a hang-up or an error. A read_drained that comes up short while the
// events of the socket's latest epoll report show none of these reports itself to the reactor
// as "exhausted": the reactor then skips the trial recv until epoll reports the socket again.
// Why no wake-up is lost:
// - any byte, FIN or error that arrives after the recv makes epoll report the socket again;
// - anything that arrived before it is either in the latest report (epoll reports the socket's
//   state, not only what woke it), or in a report still to come, which sets the reactor's flag
//   again;
// - the latest report may be one collected but not yet acted on, or even one left in the
//   reactor's recycled per-socket state by an earlier socket. Both are safe: registering a
//   socket (EPOLL_CTL_ADD, and the EPOLL_CTL_MOD that adds EPOLLRDHUP) makes epoll report
//   whatever is already waiting in it.
// A socket without EPOLLRDHUP behaves as with Asio's own read. Nothing else changes: the read
// is Asio's own reactor operation, queued, cancelled and closed like any other, and a later
// read of any kind on the socket respects the reactor's flag.
//
// read_drained reaches into Asio's reactor (boost/asio/detail), private members included, which
// Boost does not promise to keep. It is built only with ALBEMU_DRAINED_READS (CMake option of
// that name: on by default with Boost 1.81's epoll reactor, the one it was checked against);
// without it, read_drained is Asio's async_read_some and enable_drained_reads does nothing.
// With it, static_asserts stop the build on another reactor or another Boost release (the
// private members are named in socket_io.cc). The reactor's latest events are written by
// epoll_reactor::run without a lock: both calls must run on the one thread that runs the
// socket's io_context, as every worker's io_context is.

#include <sys/socket.h>

#include <array>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#ifndef ALBEMU_DRAINED_READS
#error "ALBEMU_DRAINED_READS must be 0 or 1 (the build sets it: CMake option ALBEMU_DRAINED_READS)"
#endif
#if ALBEMU_DRAINED_READS
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/reactive_socket_service.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#endif

namespace albemu::net {

/// Whether this build skips Asio's trial recv after a read that drained the socket.
inline constexpr bool kDrainedReads = ALBEMU_DRAINED_READS != 0;

/// A plain TCP socket of a worker's io_context (the type of ClientSocket and of a backend
/// connection's socket).
using PlainSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

/// Allocates exactly the size asked for, from the global heap. Asio keeps a few blocks per
/// thread for its operations and hands an operation any cached block big enough, so one that
/// stays pending for minutes (an idle connection's read, or its keepalive deadline) would hold
/// a block sized for the largest operation the thread has seen (an accept: 240 bytes). Bound to
/// such a handler (asio::bind_allocator), it gives the operation its own size.
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>& /*other*/) {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const ExactAllocator<U>& /*other*/) const {
    return true;
  }
};

namespace socket_io_detail {
/// How many write_eager handlers may be running inside one another on this thread. A handler
/// that writes again (a response relayed chunk by chunk from one buffer) would otherwise
/// deepen the stack by one write per chunk, without bound; past this depth the write's
/// completion is posted instead, as asio::async_write's always is.
inline constexpr int kMaxInlineDepth = 8;
inline thread_local int inline_depth = 0;

/// Where an idle read puts its bytes: `size` bytes prepared in a flat buffer only once there
/// is something to read, and given back when the read would block, so a connection waiting
/// for its next request holds no read buffer.
template <class DynamicBuffer>
struct LazyTarget {
  DynamicBuffer* buffer;
  std::size_t size;
  boost::asio::mutable_buffer acquire() const { return buffer->prepare(size); }
  void would_block() const {
    if (buffer->size() == 0) buffer->shrink_to_fit();
  }
};
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
  namespace socket_ops = asio::detail::socket_ops;
  std::array<socket_ops::buf, 8> pieces;
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
    socket_ops::init_buf(pieces[count++], piece.data(), piece.size());
    total += piece.size();
  }
  std::size_t sent = 0;
  if (fits && total > 0 && socket.is_open() && inline_depth < socket_io_detail::kMaxInlineDepth) {
    // Asio's own sendmsg: retries EINTR, adds MSG_NOSIGNAL; false means "would block".
    boost::system::error_code ec;
    if (socket_ops::non_blocking_send(socket.native_handle(), pieces.data(), count, MSG_DONTWAIT,
                                      ec, sent)) {
      if (ec) {
        asio::post(socket.get_executor(), [ec, handler = std::move(handler)]() mutable {
          std::move(handler)(ec, std::size_t{0});
        });
        return;
      }
      if (sent == total) {
        ++inline_depth;
        std::move(handler)(boost::system::error_code(), total);
        --inline_depth;
        return;
      }
    }
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

#if ALBEMU_DRAINED_READS

namespace socket_io_detail {

namespace asio = boost::asio;
using Reactor = asio::detail::epoll_reactor;
using DescriptorState = Reactor::descriptor_state;

static_assert(std::is_same_v<asio::detail::reactor, Reactor>, "written for Asio's epoll reactor");

/// True if the socket is registered for EPOLLRDHUP and its latest epoll report showed no FIN,
/// no urgent data, no hang-up and no error. Called by the reactor, with the socket's lock held.
bool nothing_pending(const DescriptorState* state);

/// The socket's implementation, which basic_socket keeps protected.
struct SocketAccess : PlainSocket {
  static auto& impl(PlainSocket& socket) { return socket.*(&SocketAccess::impl_); }
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

/// Where a read puts its bytes: a buffer given up front.
struct FixedTarget {
  asio::mutable_buffer buffer;
  asio::mutable_buffer acquire() const { return buffer; }
  void would_block() const {}
};

template <class Target, class Handler, template <class> class OpAllocator>
class ReadOp final : public asio::detail::reactor_op {
 public:
  using Allocator = OpAllocator<ReadOp>;

  ReadOp(asio::detail::socket_type socket, DescriptorState* state, Target target, Handler&& handler)
      : reactor_op(boost::system::error_code(), &ReadOp::do_perform, &ReadOp::do_complete),
        socket_(socket),
        state_(state),
        target_(target),
        handler_(std::move(handler)) {}

 private:
  static status do_perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    asio::mutable_buffer buffer;
    try {
      buffer = op->target_.acquire();
    } catch (const std::exception&) {  // no memory for a lazy buffer: the read fails
      op->ec_ = asio::error::no_memory;
      return done;
    }
    // Asio's own recv: retries EINTR, turns 0 bytes into eof; false means "would block".
    if (!asio::detail::socket_ops::non_blocking_recv1(op->socket_, buffer.data(), buffer.size(), 0,
                                                      /*is_stream=*/true, op->ec_,
                                                      op->bytes_transferred_)) {
      op->target_.would_block();
      return not_done;
    }
    if (op->ec_) return op->ec_ == asio::error::eof ? done_and_exhausted : done;  // as Asio's
    // A short TCP read emptied the receive queue, or stopped at a FIN or at urgent data.
    const bool short_read = op->bytes_transferred_ < buffer.size();
    return short_read && nothing_pending(op->state_) ? done_and_exhausted : done;
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
  DescriptorState* state_;
  Target target_;
  Handler handler_;
};

/// `OpAllocator`: asio::recycling_allocator for a read expected to end soon, ExactAllocator
/// for one that may wait long.
template <template <class> class OpAllocator, class Target, class Handler>
void start_read(PlainSocket& socket, Target target, Handler handler) {
  using Op = ReadOp<Target, Handler, OpAllocator>;
  auto& impl = SocketAccess::impl(socket);
  typename Op::Allocator allocator;
  Op* op = allocator.allocate(1);
  new (op) Op(impl.get_implementation().socket_, impl.get_implementation().reactor_data_, target,
              std::move(handler));
  ServiceAccess::start_read(impl.get_service(), impl.get_implementation(), op);
}

/// A wait for the socket to become readable that does not read. Its speculative attempt, made
/// as it starts, always declines (the caller has just seen a read would block), so no epoll
/// registration changes; the reactor's next report for the socket completes it. Asio's own
/// wait (async_wait) re-registers the socket with epoll_ctl each time instead.
template <class Handler>
class WaitReadableOp final : public asio::detail::reactor_op {
 public:
  using Allocator = asio::recycling_allocator<WaitReadableOp>;

  explicit WaitReadableOp(Handler&& handler)
      : reactor_op(boost::system::error_code(), &WaitReadableOp::do_perform,
                   &WaitReadableOp::do_complete),
        handler_(std::move(handler)) {}

  bool starting = true;  // the attempt made inside start_read, which declines

 private:
  static status do_perform(reactor_op* base) {
    return static_cast<WaitReadableOp*>(base)->starting ? not_done : done;
  }

  static void do_complete(void* owner, asio::detail::scheduler_operation* base,
                          const boost::system::error_code& /*ignored*/, std::size_t /*ignored*/) {
    auto* op = static_cast<WaitReadableOp*>(base);
    Handler handler(std::move(op->handler_));
    const boost::system::error_code ec = op->ec_;
    op->~WaitReadableOp();
    Allocator().deallocate(op, 1);
    if (owner) std::move(handler)(ec);
  }

  Handler handler_;
};

}  // namespace socket_io_detail

/// Waits until `socket` (of a worker's io_context, on the one thread that runs it) may have
/// bytes to read, without reading them, for a caller whose own read just found none: the
/// handler gets (error_code) on that io_context, never inline; a cancel or close ends it with
/// operation_aborted. As with read_drained, the handler's associated executor and allocator
/// are not used.
template <class Handler>
void wait_readable(PlainSocket& socket, Handler handler) {
  using Op = socket_io_detail::WaitReadableOp<Handler>;
  auto& impl = socket_io_detail::SocketAccess::impl(socket);
  typename Op::Allocator allocator;
  Op* op = allocator.allocate(1);
  new (op) Op(std::move(handler));
  socket_io_detail::ServiceAccess::start_read(impl.get_service(), impl.get_implementation(), op);
  op->starting = false;  // queued or posted; it completes only after this returns
}

/// Adds EPOLLRDHUP to `socket`'s registration with its io_context's reactor, which
/// read_drained needs to tell a drained socket. If that fails (false), the socket's reads
/// behave as Asio's, so a caller may ignore the result. Runs on the thread that runs the
/// socket's io_context.
bool enable_drained_reads(PlainSocket& socket);

/// async_read_some for a plain TCP socket of a worker's io_context, started on the thread that
/// runs it: the handler gets (error_code, bytes) on that io_context, never inline. `buffer`
/// must not be empty. A read that empties the socket, with nothing else waiting, lets the
/// next read of the socket wait for epoll instead of trying recv first. As with write_eager,
/// the handler's associated executor, allocator and cancellation slot are not used.
template <class Handler>
void read_drained(PlainSocket& socket, boost::asio::mutable_buffer buffer, Handler handler) {
  socket_io_detail::start_read<boost::asio::recycling_allocator>(
      socket, socket_io_detail::FixedTarget{buffer}, std::move(handler));
}

/// read_drained into `size` bytes of `buffer` (a Beast dynamic buffer holding no data) that
/// are prepared only when the socket has bytes to read: while the read waits, the buffer holds
/// no storage, and the operation takes only its own size (ExactAllocator). The handler gets
/// (error_code, bytes) and commits them.
template <class DynamicBuffer, class Handler>
void read_idle(PlainSocket& socket, DynamicBuffer& buffer, std::size_t size, Handler handler) {
  socket_io_detail::start_read<ExactAllocator>(
      socket, socket_io_detail::LazyTarget<DynamicBuffer>{&buffer, size}, std::move(handler));
}

#else

/// Without ALBEMU_DRAINED_READS: does nothing (false), and reads behave as Asio's.
inline bool enable_drained_reads(PlainSocket&) { return false; }

/// Without ALBEMU_DRAINED_READS: Asio's async_read_some.
template <class Handler>
void read_drained(PlainSocket& socket, boost::asio::mutable_buffer buffer, Handler handler) {
  socket.async_read_some(buffer, std::move(handler));
}

/// Without ALBEMU_DRAINED_READS: Asio's async_read_some into `size` bytes prepared at once.
template <class DynamicBuffer, class Handler>
void read_idle(PlainSocket& socket, DynamicBuffer& buffer, std::size_t size, Handler handler) {
  socket.async_read_some(buffer.prepare(size), std::move(handler));
}

/// Without ALBEMU_DRAINED_READS: Asio's async_wait for readability.
template <class Handler>
void wait_readable(PlainSocket& socket, Handler handler) {
  socket.async_wait(PlainSocket::wait_read, std::move(handler));
}

#endif  // ALBEMU_DRAINED_READS

/// The same call for a TLS stream: its own async_read_some (the TLS layer reads the socket).
template <class Stream, class Handler>
requires(!std::is_same_v<Stream, PlainSocket>) void read_drained(Stream& stream,
                                                                 boost::asio::mutable_buffer buffer,
                                                                 Handler handler) {
  stream.async_read_some(buffer, std::move(handler));
}

/// The same call for a TLS stream: its lazy read, which prepares the `size` bytes for each
/// try of SSL_read and gives them back while it waits for the socket.
template <class Stream, class DynamicBuffer, class Handler>
requires(!std::is_same_v<Stream, PlainSocket>) void read_idle(Stream& stream, DynamicBuffer& buffer,
                                                              std::size_t size, Handler handler) {
  stream.async_read_some_lazy(socket_io_detail::LazyTarget<DynamicBuffer>{&buffer, size},
                              std::move(handler));
}

}  // namespace albemu::net
