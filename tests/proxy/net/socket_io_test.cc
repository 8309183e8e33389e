#include "proxy/net/socket_io.h"

#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace albemu::net {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// Connects `connecting` to `accepted` over loopback (both of one io_context, both closed).
void connect_pair(asio::io_context& io, PlainSocket& accepted, PlainSocket& connecting) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  connecting.connect(acceptor.local_endpoint());
  acceptor.accept(accepted);
}

/// A connected loopback pair on one io_context: `local` is written with write_eager; `peer`
/// is the other end, read synchronously.
class WriteEagerTest : public ::testing::Test {
 protected:
  void SetUp() override { connect_pair(io_, local_, peer_); }

  std::string receive(std::size_t size) {
    std::string received(size, '\0');
    asio::read(peer_, asio::buffer(received));
    return received;
  }

  asio::io_context io_{1};
  PlainSocket local_{io_};
  PlainSocket peer_{io_};
};

struct WriteResult {
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

std::string pattern(std::size_t size) {
  std::string text(size, ' ');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
  return text;
}

// The usual case: a head and a small body go out in one sendmsg, and the handler runs before
// write_eager returns, with no turn of the io_context.
TEST_F(WriteEagerTest, AWriteThatGoesOutWholeCompletesInsideTheCall) {
  const std::string head = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
  const std::string body = "hello";
  const std::vector<asio::const_buffer> pieces = {asio::buffer(head), asio::buffer(body)};
  std::optional<WriteResult> result;
  write_eager(local_, pieces, [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, head.size() + body.size());
  EXPECT_EQ(receive(head.size() + body.size()), head + body);
}

// A write larger than the socket takes: what did not fit goes through async_write, and the
// handler, later, counts the bytes of both parts. The peer gets every byte in order.
TEST_F(WriteEagerTest, AWriteTheSocketCannotTakeWholeFinishesLaterInOrder) {
  local_.set_option(asio::socket_base::send_buffer_size(65536));
  const std::string first = pattern(1 << 20);
  const std::string second = "the end";
  const std::vector<asio::const_buffer> pieces = {asio::buffer(first), asio::buffer(second)};
  std::optional<WriteResult> result;
  write_eager(local_, pieces, [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  EXPECT_FALSE(result);
  std::string received(first.size() + second.size(), '\0');
  bool read_done = false;
  asio::async_read(peer_, asio::buffer(received),
                   [&](boost::system::error_code, std::size_t) { read_done = true; });
  while (!result || !read_done) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, first.size() + second.size());
  EXPECT_TRUE(received == first + second);
}

// More pieces than one sendmsg is given: the whole write goes through async_write.
TEST_F(WriteEagerTest, ManyPiecesAreWrittenInOrder) {
  const std::string text = pattern(20);
  std::vector<asio::const_buffer> pieces;
  for (std::size_t i = 0; i < text.size(); ++i) pieces.push_back(asio::buffer(&text[i], 1));
  std::optional<WriteResult> result;
  write_eager(local_, pieces, [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  EXPECT_FALSE(result);
  while (!result) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, text.size());
  EXPECT_EQ(receive(text.size()), text);
}

// A peer that reset the connection: the error reaches the handler through the io_context,
// never inside the call, and never as a SIGPIPE.
TEST_F(WriteEagerTest, AWriteToAResetConnectionReportsTheResetLater) {
  peer_.set_option(asio::socket_base::linger(true, 0));
  peer_.close();  // RST
  pollfd fd{local_.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  const std::string text = "after the reset";
  std::optional<WriteResult> result;
  write_eager(local_, asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  EXPECT_FALSE(result);
  while (!result) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_EQ(result->ec, asio::error::connection_reset) << result->ec.message();
  EXPECT_EQ(result->bytes, 0u);
  // The reset is reported once; a write after it meets a broken pipe, which would be a
  // SIGPIPE (killing this test) without MSG_NOSIGNAL.
  std::optional<WriteResult> again;
  write_eager(local_, asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    again = WriteResult{ec, n};
  });
  io_.restart();  // it ran out of work after the first write
  while (!again) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_EQ(again->ec, asio::error::broken_pipe) << again->ec.message();
}

TEST_F(WriteEagerTest, AWriteOnAClosedSocketFailsLater) {
  local_.close();
  const std::string text = "x";
  std::optional<WriteResult> result;
  write_eager(local_, asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  EXPECT_FALSE(result);
  while (!result) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_EQ(result->ec, asio::error::bad_descriptor) << result->ec.message();
}

// A socket that takes nothing at all (its send buffer is full): the write waits in
// async_write and completes once the peer reads.
TEST_F(WriteEagerTest, AWriteToAFullSocketWaitsForRoom) {
  local_.set_option(asio::socket_base::send_buffer_size(4096));
  const std::string filler = pattern(64 << 10);
  std::size_t filled = 0;
  for (;;) {
    const ssize_t n = ::send(local_.native_handle(), filler.data(), filler.size(), MSG_DONTWAIT);
    if (n < 0) {
      ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
      break;
    }
    filled += static_cast<std::size_t>(n);
  }
  const std::string text = "the last word";
  std::optional<WriteResult> result;
  write_eager(local_, asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  EXPECT_FALSE(result);
  std::string received(filled + text.size(), '\0');
  bool read_done = false;
  asio::async_read(peer_, asio::buffer(received),
                   [&](boost::system::error_code, std::size_t) { read_done = true; });
  while (!result || !read_done) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, text.size());
  EXPECT_EQ(received.substr(filled), text);
}

// Handlers that write again from inside an inline completion (a response relayed piece by
// piece from one buffer) nest only so deep; the deeper writes complete through the
// io_context, and every byte still arrives in order.
TEST_F(WriteEagerTest, WritesFromInsideHandlersNestOnlySoDeep) {
  constexpr int kWrites = 200;
  int depth = 0;
  int deepest = 0;
  int completed = 0;
  std::string sent;
  std::function<void(int)> write_next = [&](int index) {
    if (index == kWrites) return;
    sent.push_back(static_cast<char>('a' + index % 26));
    write_eager(local_, asio::buffer(&sent.back(), 1),
                [&, index](boost::system::error_code ec, std::size_t n) {
                  ASSERT_FALSE(ec);
                  ASSERT_EQ(n, 1u);
                  ++completed;
                  deepest = std::max(deepest, ++depth);
                  write_next(index + 1);
                  --depth;
                });
  };
  sent.reserve(kWrites);  // the pieces point into it
  write_next(0);
  while (completed < kWrites) ASSERT_EQ(io_.run_one(), 1u);
  // One handler run by the io_context, and inline ones inside it.
  EXPECT_LE(deepest, socket_io_detail::kMaxInlineDepth + 1);
  EXPECT_GE(deepest, 2);  // some did complete inline
  EXPECT_EQ(receive(kWrites), sent);
  EXPECT_EQ(socket_io_detail::inline_depth, 0);
}

// Empty pieces take no room in the one sendmsg: eight with bytes among twelve go out inline.
TEST_F(WriteEagerTest, EmptyPiecesDoNotCountAgainstTheInlineWrite) {
  const std::string text = pattern(8);
  std::vector<asio::const_buffer> pieces;
  for (std::size_t i = 0; i < text.size(); ++i) {
    pieces.push_back(asio::buffer(&text[i], 1));
    if (i % 2 == 0) pieces.push_back(asio::const_buffer());
  }
  ASSERT_EQ(pieces.size(), 12u);
  std::optional<WriteResult> result;
  write_eager(local_, pieces, [&](boost::system::error_code ec, std::size_t n) {
    result = WriteResult{ec, n};
  });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, text.size());
  EXPECT_EQ(receive(text.size()), text);
}

// Nothing to write completes as asio::async_write does: later, with 0 bytes, no error.
TEST_F(WriteEagerTest, NothingToWriteCompletesLaterWithZeroBytes) {
  std::optional<WriteResult> result;
  write_eager(local_, std::vector<asio::const_buffer>{},
              [&](boost::system::error_code ec, std::size_t n) {
                result = WriteResult{ec, n};
              });
  EXPECT_FALSE(result);
  while (!result) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, 0u);
}

struct ReadResult {
  boost::system::error_code ec;
  std::string data;
};

/// A connected loopback pair on one io_context: `reader` is read with read_drained,
/// `peer` writes to it synchronously.
class DrainedReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connect_pair(io_, reader_, peer_);
    // Built without drained reads, enabling does nothing and every read is Asio's own: the
    // tests below then check that the fallback keeps every promise but the saved recv.
    ASSERT_EQ(enable_drained_reads(reader_), kDrainedReads);
  }

  void send(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }

  /// Blocks until the reader's socket has bytes to read (poll, not a sleep).
  void wait_readable() {
    pollfd fd{reader_.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  }

  /// Starts a drained read into `buffer_` of `size` bytes; `result` is set by its handler.
  void start_read(std::size_t size, std::optional<ReadResult>& result) {
    read_drained(reader_, asio::buffer(buffer_.data(), size),
                 [this, &result](boost::system::error_code ec, std::size_t n) {
                   result = ReadResult{ec, std::string(buffer_.data(), n)};
                 });
  }

  /// Starts an idle read of up to 1024 bytes into `buffer`; `result` gets what it holds.
  void start_idle_read(boost::beast::flat_buffer& buffer, std::optional<ReadResult>& result) {
    read_idle(reader_, buffer, 1024,
              [&buffer, &result](boost::system::error_code ec, std::size_t n) {
                buffer.commit(n);
                result = ReadResult{ec, boost::beast::buffers_to_string(buffer.data())};
              });
  }

  /// Starts an idle read on a socket with nothing to read: it waits holding no buffer
  /// (without drained reads, Asio's read holds its 1024 bytes), then `bytes` sent complete it.
  void expect_idle_read_to_wait_bufferless_for(const std::string& bytes) {
    boost::beast::flat_buffer idle;
    std::optional<ReadResult> result;
    start_idle_read(idle, result);
    io_.poll();
    ASSERT_FALSE(result);
    EXPECT_EQ(idle.capacity(), kDrainedReads ? 0u : 1024u);
    send(bytes);
    run_until(result);
    EXPECT_FALSE(result.value().ec);
    EXPECT_EQ(result.value().data, bytes);
  }

  /// Blocks until the peer's FIN has reached the reader's socket.
  void wait_for_fin() {
    pollfd fd{reader_.native_handle(), POLLRDHUP, 0};
    ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  }

  /// Blocks until the peer's RST has reached the reader's socket (poll always reports it).
  void wait_for_reset() {
    pollfd fd{reader_.native_handle(), 0, 0};
    ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  }

  /// Runs the io_context until the read's handler ran; fails after 5 s without progress (a
  /// read that waits for an edge that never comes). The tests then read the result with
  /// value(), which throws, and so fails the test, if the handler never ran.
  void run_until(const std::optional<ReadResult>& result) {
    io_.restart();
    while (!result) ASSERT_EQ(io_.run_one_for(std::chrono::seconds(5)), 1u);
  }

  /// A drained read started on an empty socket, then `bytes` sent: epoll's edge completes it
  /// (a read that finds its bytes already there would leave that edge for later).
  ReadResult read_sent(const std::string& bytes, std::size_t size) {
    std::optional<ReadResult> result;
    start_read(size, result);
    send(bytes);
    run_until(result);
    return result.value_or(ReadResult{});
  }

  /// A drained read is started; the peer sends "abc" and ends the connection with `end`, and
  /// `arrived` waits until the end reached the reader, all before the reactor looks. The read
  /// must get "abc"; returns what the next read gets.
  ReadResult read_after_last_bytes(const std::function<void()>& end,
                                   const std::function<void()>& arrived) {
    std::optional<ReadResult> first;
    start_read(buffer_.size(), first);
    send("abc");
    end();
    arrived();
    run_until(first);
    if (!first) return {};  // run_until has failed the test
    EXPECT_FALSE(first.value().ec);
    EXPECT_EQ(first.value().data, "abc");
    std::optional<ReadResult> next;
    start_read(buffer_.size(), next);
    run_until(next);
    return next.value_or(ReadResult{});
  }

  asio::io_context io_{1};
  PlainSocket reader_{io_};
  PlainSocket peer_{io_};
  std::array<char, 64> buffer_{};
};

// Asio's own read tries recv as soon as it starts, even when the last read came up short: the
// bytes leave the socket before the io_context runs. This is the behaviour the drained read
// avoids; if Asio stops doing it, the drained read is no longer needed.
TEST_F(DrainedReadTest, AsiosReadTriesRecvAtOnceEvenAfterAShortRead) {
  std::size_t first = 0;
  reader_.async_read_some(asio::buffer(buffer_), [&](auto, std::size_t n) { first = n; });
  send("a");
  while (first == 0) ASSERT_EQ(io_.run_one(), 1u);
  ASSERT_EQ(first, 1u);
  send("b");
  wait_readable();
  reader_.async_read_some(asio::buffer(buffer_), [](auto, std::size_t) {});
  EXPECT_EQ(reader_.available(), 0u);
}

// A read emptied the receive queue: the next read waits for epoll's word instead of
// trying recv first, so bytes that arrived meanwhile are still in the socket when it starts...
// (Without drained reads, the trial recv takes them at once, as Asio's read does.)
TEST_F(DrainedReadTest, AfterADrainingReadTheNextReadLeavesTheTrialRecvToEpoll) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  send("bc");
  wait_readable();
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  EXPECT_EQ(reader_.available(), kDrainedReads ? 2u : 0u);
  EXPECT_FALSE(second);
  // ... and epoll's edge for them completes it.
  run_until(second);
  EXPECT_FALSE(second.value().ec);
  EXPECT_EQ(second.value().data, "bc");
}

// A read that left bytes behind did not drain the socket: the next one tries recv at once.
TEST_F(DrainedReadTest, AReadThatLeftBytesBehindDoesNotMarkTheSocketDrained) {
  EXPECT_EQ(read_sent("abcdef", 4).data, "abcd");
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  EXPECT_EQ(reader_.available(), 0u);
  run_until(second);
  EXPECT_EQ(second.value().data, "ef");
}

// A read that filled its buffer may have left bytes behind: the next one tries recv at once.
TEST_F(DrainedReadTest, AReadThatFilledItsBufferDoesNotMarkTheSocketDrained) {
  EXPECT_EQ(read_sent("abcd", 4).data, "abcd");
  send("e");
  wait_readable();
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  EXPECT_EQ(reader_.available(), 0u);
  run_until(second);
  EXPECT_EQ(second.value().data, "e");
}

// The case a plain "short read means drained" rule loses: the peer's last bytes and its FIN
// reach the socket before epoll is asked, so one report stands for both. The read takes the
// bytes; the report shows the FIN, so the next read tries recv at once and sees the end of
// stream instead of waiting for a report that will not come.
TEST_F(DrainedReadTest, AFinThatCameWithTheLastBytesEndsTheNextRead) {
  const ReadResult next = read_after_last_bytes(
      [this] { peer_.shutdown(tcp::socket::shutdown_send); }, [this] { wait_for_fin(); });
  EXPECT_EQ(next.ec, asio::error::eof);
}

// The same with a reset: the last bytes and the RST come in one report, which shows the error.
TEST_F(DrainedReadTest, AResetThatCameWithTheLastBytesEndsTheNextRead) {
  const ReadResult next = read_after_last_bytes(
      [this] {
        peer_.set_option(asio::socket_base::linger(true, 0));
        peer_.close();
      },
      [this] { wait_for_reset(); });
  EXPECT_EQ(next.ec, asio::error::connection_reset);
}

// A TCP read also stops short at urgent data, with bytes still queued behind it: the report
// shows the urgent data (EPOLLPRI), so the next read tries recv at once and gets them.
TEST_F(DrainedReadTest, AReadStoppedAtUrgentDataDoesNotMarkTheSocketDrained) {
  std::optional<ReadResult> first;
  start_read(buffer_.size(), first);
  ASSERT_EQ(::send(peer_.native_handle(), "abc", 3, MSG_OOB), 3);  // "c" is urgent
  send("def");
  // Both sends are in the reader's socket before the reactor looks: the peer has no byte left
  // that the reader's side has not acknowledged. (The reader's queue length stops at the
  // urgent mark, so it cannot tell.)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int unacknowledged = -1;
  while ((::ioctl(peer_.native_handle(), SIOCOUTQ, &unacknowledged) != 0 || unacknowledged > 0) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  ASSERT_EQ(unacknowledged, 0);
  run_until(first);
  ASSERT_FALSE(first.value().ec);
  EXPECT_EQ(first.value().data, "ab");
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  run_until(second);
  EXPECT_EQ(second.value().data, "def");
}

// A socket whose registration lacks EPOLLRDHUP cannot tell a waiting FIN: every read
// behaves as Asio's own and tries recv at once.
TEST(DrainedRead, WithoutEnablingNoReadMarksTheSocketDrained) {
  asio::io_context io(1);
  PlainSocket peer(io);
  PlainSocket reader(io);
  connect_pair(io, reader, peer);
  std::array<char, 64> buffer{};
  std::size_t got = 0;
  read_drained(reader, asio::buffer(buffer),
               [&](boost::system::error_code, std::size_t n) { got = n; });
  asio::write(peer, asio::buffer("a", 1));
  while (got == 0) ASSERT_EQ(io.run_one_for(std::chrono::seconds(5)), 1u);
  asio::write(peer, asio::buffer("bc", 2));
  pollfd fd{reader.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  read_drained(reader, asio::buffer(buffer), [](boost::system::error_code, std::size_t) {});
  EXPECT_EQ(reader.available(), 0u);
}

// An idle read holds no buffer while it waits: the bytes' storage is prepared once they
// arrive. (Without drained reads it is Asio's read, which needs its buffer up front.)
TEST_F(DrainedReadTest, AnIdleReadPreparesItsBufferOnlyOnceBytesArrive) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");  // the socket is now drained
  expect_idle_read_to_wait_bufferless_for("GET / HTTP/1.1\r\n");
}

// On a socket not known to be drained (a fresh one), an idle read tries recv at once: finding
// nothing, it gives its buffer back and waits.
TEST_F(DrainedReadTest, AnIdleReadThatFindsNothingGivesItsBufferBack) {
  expect_idle_read_to_wait_bufferless_for("late");
}

TEST_F(DrainedReadTest, AnIdleReadTakesBytesThatWaitAlready) {
  send("early");
  wait_readable();
  boost::beast::flat_buffer idle;
  std::optional<ReadResult> result;
  start_idle_read(idle, result);
  run_until(result);
  EXPECT_FALSE(result.value().ec);
  EXPECT_EQ(result.value().data, "early");
}

// A read queued on a drained socket is completed by bytes that arrive later.
TEST_F(DrainedReadTest, BytesArrivingAfterTheReadStartedCompleteIt) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  io_.poll();
  EXPECT_FALSE(second);
  send("later");
  run_until(second);
  EXPECT_FALSE(second.value().ec);
  EXPECT_EQ(second.value().data, "later");
}

TEST_F(DrainedReadTest, ThePeerClosingIsEof) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  peer_.close();
  std::optional<ReadResult> end;
  start_read(buffer_.size(), end);
  run_until(end);
  EXPECT_EQ(end.value().ec, asio::error::eof);
  EXPECT_EQ(end.value().data, "");
}

// A pooled backend connection: its last read drained it, then the backend closed it while no
// read was pending, and the reactor took that edge with nothing to run. The next read must
// still see the end of stream at once: the edge set the reactor's flag again. (A read that
// kept a "drained" flag of its own, and skipped the trial recv by it, would wait here for an
// edge that already came.)
TEST_F(DrainedReadTest, AFinTakenByTheReactorWhileNoReadWasPendingEndsTheNextRead) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  peer_.shutdown(tcp::socket::shutdown_send);
  wait_for_fin();
  // A timer due now: the reactor turn that reports it also collects the FIN's edge, and acts
  // on that edge, with no read pending, before the timer's handler starts the read.
  std::optional<ReadResult> end;
  asio::steady_timer turn(io_, std::chrono::steady_clock::now());
  turn.async_wait([&](boost::system::error_code) { start_read(buffer_.size(), end); });
  run_until(end);
  EXPECT_EQ(end.value().ec, asio::error::eof);
}

TEST_F(DrainedReadTest, CancelEndsAQueuedReadWithOperationAborted) {
  std::optional<ReadResult> pending;
  start_read(buffer_.size(), pending);
  io_.poll();
  EXPECT_FALSE(pending);
  reader_.cancel();
  run_until(pending);
  EXPECT_EQ(pending.value().ec, asio::error::operation_aborted);
}

TEST_F(DrainedReadTest, ClosingTheSocketEndsAQueuedReadWithOperationAborted) {
  std::optional<ReadResult> pending;
  start_read(buffer_.size(), pending);
  io_.poll();
  reader_.close();
  run_until(pending);
  EXPECT_EQ(pending.value().ec, asio::error::operation_aborted);
}

// An io_context destroyed with the read still queued frees the read and its handler (and what
// the handler holds) without calling it, as it does Asio's own operations. The handler owns
// the socket, as a session's handlers own the session: the read is still queued in the reactor
// when the io_context shuts down.
TEST(DrainedRead, AReadLeftQueuedIsFreedUncalledWithItsIoContext) {
  auto held = std::make_shared<int>(0);
  bool called = false;
  std::weak_ptr<PlainSocket> watched;
  {
    asio::io_context io(1);
    PlainSocket peer(io);
    auto reader = std::make_shared<PlainSocket>(io);
    connect_pair(io, *reader, peer);
    watched = reader;
    auto buffer = std::make_shared<std::array<char, 8>>();
    read_drained(
        *reader, asio::buffer(*buffer),
        [held, reader, buffer, &called](boost::system::error_code, std::size_t) { called = true; });
    reader.reset();
    io.poll();
    EXPECT_EQ(held.use_count(), 2);
    EXPECT_FALSE(watched.expired());
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_TRUE(watched.expired());
}

// wait_readable, which the TLS stream uses once OpenSSL found nothing to read: it ends when
// bytes arrive, leaves them for the caller's own read, and ends early on a cancel.
TEST_F(DrainedReadTest, AWaitForReadableEndsWhenBytesArriveAndLeavesThemUnread) {
  std::optional<boost::system::error_code> waited;
  net::wait_readable(reader_, [&](boost::system::error_code ec) { waited = ec; });
  io_.poll();
  ASSERT_FALSE(waited) << "nothing has been sent yet";
  send("hello");
  io_.restart();
  while (!waited) ASSERT_EQ(io_.run_one_for(std::chrono::seconds(5)), 1u);
  EXPECT_FALSE(*waited);
  EXPECT_EQ(reader_.available(), 5u);
}

TEST_F(DrainedReadTest, CancelEndsAWaitForReadable) {
  std::optional<boost::system::error_code> waited;
  net::wait_readable(reader_, [&](boost::system::error_code ec) { waited = ec; });
  io_.poll();
  ASSERT_FALSE(waited);
  reader_.cancel();
  io_.restart();
  while (!waited) ASSERT_EQ(io_.run_one_for(std::chrono::seconds(5)), 1u);
  EXPECT_EQ(*waited, asio::error::operation_aborted);
}

}  // namespace
}  // namespace albemu::net
