#include "proxy/net/socket_io.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace albemu::net {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

struct ReadResult {
  boost::system::error_code ec;
  std::string data;
};

/// A connected loopback pair on one io_context: `local` is read with async_read_answer and
/// written with write_eager; `peer` is the other end, used synchronously.
class PlainSocketPair : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(local_);
  }

  void send(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }

  /// Blocks until the local socket has bytes to read (poll, not a sleep).
  void wait_readable() {
    pollfd fd{local_.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&fd, 1, 5000), 1);
  }

  /// Starts async_read_answer into `buffer_`; `result` is set by its handler.
  void start_answer_read(std::optional<ReadResult>& result) {
    async_read_answer(local_, asio::buffer(buffer_),
                      [this, &result](boost::system::error_code ec, std::size_t n) {
                        result = ReadResult{ec, std::string(buffer_.data(), n)};
                      });
  }

  /// Starts Asio's own async_read_some into `buffer_`.
  void start_asio_read(std::optional<ReadResult>& result) {
    local_.async_read_some(asio::buffer(buffer_),
                           [this, &result](boost::system::error_code ec, std::size_t n) {
                             result = ReadResult{ec, std::string(buffer_.data(), n)};
                           });
  }

  /// Runs the io_context until the read's handler ran; gives up after 5 s (a read that
  /// would wait for an edge that never comes) rather than hanging the test.
  void run_until(const std::optional<ReadResult>& result) {
    io_.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!result && std::chrono::steady_clock::now() < give_up) {
      io_.run_one_until(give_up);
    }
    ASSERT_TRUE(result) << "the read never completed";
  }

  asio::io_context io_{1};
  Socket local_{io_};
  Socket peer_{io_};
  std::array<char, 64> buffer_{};
};

using AnswerReadTest = PlainSocketPair;
using WriteEagerTest = PlainSocketPair;

// Asio's own read tries recv as soon as it starts: bytes already there leave the socket before
// the io_context runs. For an answer the peer cannot have sent yet, that attempt always fails;
// async_read_answer exists to skip it. If Asio stops doing this, it is no longer needed.
TEST_F(AnswerReadTest, AsiosReadTriesRecvAtOnce) {
  send("b");
  wait_readable();
  std::optional<ReadResult> result;
  start_asio_read(result);
  EXPECT_EQ(local_.available(), 0u);
}

// The answer read does not try recv when it starts: bytes that arrived (and whose epoll edge
// is still to be reported) stay in the socket until the io_context runs, and then that edge
// completes the read.
TEST_F(AnswerReadTest, ItsFirstAttemptIsLeftToEpoll) {
  send("bc");
  wait_readable();
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  EXPECT_EQ(local_.available(), 2u);
  EXPECT_FALSE(answer);
  run_until(answer);
  EXPECT_FALSE(answer->ec);
  EXPECT_EQ(answer->data, "bc");
}

TEST_F(AnswerReadTest, BytesArrivingAfterItStartedCompleteIt) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  io_.poll();
  EXPECT_FALSE(answer);
  send("later");
  run_until(answer);
  EXPECT_FALSE(answer->ec);
  EXPECT_EQ(answer->data, "later");
}

// A peer that answers and closes at once: the FIN comes with the answer's bytes and raises no
// edge of its own. The read after the answer must still see the end of stream, so the answer
// read may not tell the reactor the socket is drained after a short read.
TEST_F(AnswerReadTest, AFinRightBehindTheAnswerStillEndsTheNextRead) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  send("abc");
  peer_.shutdown(tcp::socket::shutdown_send);
  wait_readable();
  run_until(answer);
  EXPECT_EQ(answer->data, "abc");
  std::optional<ReadResult> next;
  start_asio_read(next);
  run_until(next);
  EXPECT_EQ(next->ec, asio::error::eof);
}

// The same with a reset behind the answer's bytes.
TEST_F(AnswerReadTest, AResetRightBehindTheAnswerStillFailsTheNextRead) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  send("abc");
  peer_.set_option(asio::socket_base::linger(true, 0));
  peer_.close();  // RST
  wait_readable();
  run_until(answer);
  std::optional<ReadResult> next = answer->data.empty() ? answer : std::nullopt;
  if (!next) {
    EXPECT_EQ(answer->data, "abc");
    start_asio_read(next);
    run_until(next);
  }
  EXPECT_EQ(next->ec, asio::error::connection_reset) << next->ec.message();
}

TEST_F(AnswerReadTest, ThePeerClosingIsEof) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  peer_.close();
  run_until(answer);
  EXPECT_EQ(answer->ec, asio::error::eof);
  EXPECT_EQ(answer->data, "");
}

TEST_F(AnswerReadTest, CancelEndsItWithOperationAborted) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  io_.poll();
  EXPECT_FALSE(answer);
  local_.cancel();
  run_until(answer);
  EXPECT_EQ(answer->ec, asio::error::operation_aborted);
}

TEST_F(AnswerReadTest, ClosingTheSocketEndsItWithOperationAborted) {
  std::optional<ReadResult> answer;
  start_answer_read(answer);
  io_.poll();
  local_.close();
  run_until(answer);
  EXPECT_EQ(answer->ec, asio::error::operation_aborted);
}

// An io_context destroyed with the read still queued frees the read and its handler (and what
// the handler holds) without calling it, as it does Asio's own operations.
TEST(AnswerReadLifetime, AReadLeftQueuedIsFreedUncalledWithItsIoContext) {
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
    async_read_answer(reader, asio::buffer(buffer),
                      [held, &called](boost::system::error_code, std::size_t) { called = true; });
    io.poll();
    EXPECT_EQ(held.use_count(), 2);
    io.stop();
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(held.use_count(), 1);
}

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
  std::string received(head.size() + body.size(), '\0');
  asio::read(peer_, asio::buffer(received));
  EXPECT_EQ(received, head + body);
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
  while (!result) ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->bytes, text.size());
  std::string received(text.size(), '\0');
  asio::read(peer_, asio::buffer(received));
  EXPECT_EQ(received, text);
}

// A peer that reset the connection: the error reaches the handler through the io_context, as
// async_write reports it, never a SIGPIPE.
TEST_F(WriteEagerTest, AWriteToAResetConnectionReportsTheError) {
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
  EXPECT_TRUE(result->ec == asio::error::connection_reset || result->ec == asio::error::broken_pipe)
      << result->ec.message();
}

}  // namespace
}  // namespace albemu::net
