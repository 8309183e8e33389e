#include "proxy/net/drained_read.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>

namespace albemu::net {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

struct ReadResult {
  boost::system::error_code ec;
  std::string data;
};

/// A connected loopback pair on one io_context: `reader` is read with async_read_drained,
/// `peer` writes to it synchronously.
class DrainedReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(reader_);
  }

  void send(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }

  /// Blocks until the reader's socket has bytes to read (poll, not a sleep).
  void wait_readable() {
    pollfd fd{reader_.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  }

  /// Starts a drained read into `buffer_` of `size` bytes; `result` is set by its handler.
  void start_read(std::size_t size, std::optional<ReadResult>& result) {
    async_read_drained(reader_, asio::buffer(buffer_.data(), size),
                       [this, &result](boost::system::error_code ec, std::size_t n) {
                         result = ReadResult{ec, std::string(buffer_.data(), n)};
                       });
  }

  /// Runs the io_context until the read's handler ran.
  void run_until(const std::optional<ReadResult>& result) {
    io_.restart();
    while (!result) ASSERT_EQ(io_.run_one(), 1u);
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

  asio::io_context io_{1};
  Socket reader_{io_};
  Socket peer_{io_};
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

// A short read emptied the receive queue: the next read waits for epoll's word instead of
// trying recv first, so bytes that arrived meanwhile are still in the socket when it starts...
TEST_F(DrainedReadTest, AfterAShortReadTheNextReadLeavesTheTrialRecvToEpoll) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  send("bc");
  wait_readable();
  std::optional<ReadResult> second;
  start_read(buffer_.size(), second);
  EXPECT_EQ(reader_.available(), 2u);
  EXPECT_FALSE(second);
  // ... and epoll's edge for them completes it.
  run_until(second);
  EXPECT_FALSE(second->ec);
  EXPECT_EQ(second->data, "bc");
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
  EXPECT_EQ(second->data, "e");
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
  EXPECT_FALSE(second->ec);
  EXPECT_EQ(second->data, "later");
}

TEST_F(DrainedReadTest, ThePeerClosingIsEof) {
  EXPECT_EQ(read_sent("a", buffer_.size()).data, "a");
  peer_.close();
  std::optional<ReadResult> end;
  start_read(buffer_.size(), end);
  run_until(end);
  EXPECT_EQ(end->ec, asio::error::eof);
  EXPECT_EQ(end->data, "");
}

TEST_F(DrainedReadTest, CancelEndsAQueuedReadWithOperationAborted) {
  std::optional<ReadResult> pending;
  start_read(buffer_.size(), pending);
  io_.poll();
  EXPECT_FALSE(pending);
  reader_.cancel();
  run_until(pending);
  EXPECT_EQ(pending->ec, asio::error::operation_aborted);
}

TEST_F(DrainedReadTest, ClosingTheSocketEndsAQueuedReadWithOperationAborted) {
  std::optional<ReadResult> pending;
  start_read(buffer_.size(), pending);
  io_.poll();
  reader_.close();
  run_until(pending);
  EXPECT_EQ(pending->ec, asio::error::operation_aborted);
}

// An io_context destroyed with the read still queued frees the read and its handler (and what
// the handler holds) without calling it, as it does Asio's own operations.
TEST(DrainedRead, AReadLeftQueuedIsFreedUncalledWithItsIoContext) {
  auto held = std::make_shared<int>(0);
  bool called = false;
  {
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Socket peer(io);
    Socket reader(io);
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    std::array<char, 8> buffer{};
    async_read_drained(reader, asio::buffer(buffer),
                       [held, &called](boost::system::error_code, std::size_t) { called = true; });
    io.poll();
    EXPECT_EQ(held.use_count(), 2);
    io.stop();
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(held.use_count(), 1);
}

}  // namespace
}  // namespace albemu::net
