#include "proxy/net/socket_io.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <cerrno>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace albemu::net {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// A connected loopback pair on one io_context: `local` is written with write_eager; `peer`
/// is the other end, read synchronously.
class WriteEagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(local_);
  }

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

}  // namespace
}  // namespace albemu::net
