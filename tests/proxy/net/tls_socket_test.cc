#include "proxy/net/tls_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/proxy/tls_test_support.h"

namespace albemu::net {
namespace {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct TlsCompletion {
  error_code ec;
  std::size_t bytes = 0;
};

std::string payload(std::size_t size) {
  std::string text(size, ' ');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
  return text;
}

/// A TlsSocket serving one loopback connection, and its client: Asio's own TLS stream, on the
/// same io_context. SetUp leaves both past the handshake.
class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto pem = albemu::testing::generate_self_signed("tls-socket.test", {});
    server_context_.use_certificate_chain(asio::buffer(pem.certificate_pem));
    server_context_.use_private_key(asio::buffer(pem.private_key_pem), ssl::context::pem);
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.next_layer().connect(acceptor.local_endpoint());
    ClientSocket accepted(io_);
    acceptor.accept(accepted);
    server_.emplace(std::move(accepted), server_context_);

    std::optional<error_code> server_done;
    std::optional<error_code> client_done;
    server_->async_handshake([&](error_code ec) { server_done = ec; });
    client_.async_handshake(ssl::stream_base::client, [&](error_code ec) { client_done = ec; });
    run_until([&] { return server_done && client_done; });
    ASSERT_FALSE(*server_done) << server_done->message();
    ASSERT_FALSE(*client_done) << client_done->message();
  }

  template <class Done>
  void run_until(Done done) {
    io_.restart();
    while (!done() && io_.run_one() > 0) {
    }
    ASSERT_TRUE(done()) << "the io_context ran out of work first";
  }

  /// What the server reads next, in one read.
  TlsCompletion server_read(std::string& into) {
    into.assign(64 * 1024, '\0');
    std::optional<TlsCompletion> result;
    server_->async_read_some(asio::buffer(into), [&](error_code ec, std::size_t n) {
      result = TlsCompletion{ec, n};
    });
    run_until([&] { return result.has_value(); });
    into.resize(result->bytes);
    return *result;
  }

  /// Exactly `size` bytes the client reads, and how many reads it took.
  std::pair<std::string, int> client_read(std::size_t size) {
    std::string received;
    int reads = 0;
    while (received.size() < size) {
      std::string piece(64 * 1024, '\0');
      std::optional<TlsCompletion> result;
      client_.async_read_some(asio::buffer(piece), [&](error_code ec, std::size_t n) {
        result = TlsCompletion{ec, n};
      });
      run_until([&] { return result.has_value(); });
      EXPECT_FALSE(result->ec) << result->ec.message();
      if (result->ec) break;
      received.append(piece, 0, result->bytes);
      ++reads;
    }
    return {received, reads};
  }

  asio::io_context io_{1};
  ssl::context server_context_{ssl::context::tls_server};
  ssl::context client_context_{ssl::context::tls_client};
  ssl::stream<tcp::socket> client_{io_, client_context_};
  std::optional<TlsSocket> server_;
};

TEST_F(TlsSocketTest, TheServerReadsWhatTheClientWrote) {
  asio::write(client_, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
  std::string received;
  const TlsCompletion result = server_read(received);
  EXPECT_FALSE(result.ec) << result.ec.message();
  EXPECT_EQ(received, "GET / HTTP/1.1\r\n\r\n");
}

// A response head and its body, written together, leave in one record: the client's single
// read returns both (one TLS read returns at most one record).
TEST_F(TlsSocketTest, GatheredPiecesLeaveInOneRecord) {
  const std::string head = "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n";
  const std::string body = "hello world";
  const std::vector<asio::const_buffer> pieces = {asio::buffer(head), asio::buffer(body)};
  std::optional<TlsCompletion> written;
  asio::async_write(*server_, pieces, [&](error_code ec, std::size_t n) {
    written = TlsCompletion{ec, n};
  });
  run_until([&] { return written.has_value(); });
  ASSERT_FALSE(written->ec) << written->ec.message();
  EXPECT_EQ(written->bytes, head.size() + body.size());
  const auto [received, reads] = client_read(head.size() + body.size());
  EXPECT_EQ(received, head + body);
  EXPECT_EQ(reads, 1);
}

TEST_F(TlsSocketTest, AWriteLargerThanARecordArrivesWholeAndInOrder) {
  const std::string data = payload(300 * 1024);  // more than the socket takes at once, too
  std::optional<TlsCompletion> written;
  asio::async_write(*server_, asio::buffer(data), [&](error_code ec, std::size_t n) {
    written = TlsCompletion{ec, n};
  });
  const auto [received, reads] = client_read(data.size());
  run_until([&] { return written.has_value(); });
  EXPECT_FALSE(written->ec) << written->ec.message();
  EXPECT_EQ(written->bytes, data.size());
  EXPECT_EQ(received, data);
  EXPECT_GT(reads, 1);
}

TEST_F(TlsSocketTest, AHandlerNeverRunsInsideTheCallThatStartedIt) {
  bool done = false;
  server_->async_write_some(asio::buffer(std::string_view("x")),
                            [&](error_code, std::size_t) { done = true; });
  EXPECT_FALSE(done);
  run_until([&] { return done; });
}

TEST_F(TlsSocketTest, TheClientsCloseNotifyEndsTheStreamWithEof) {
  std::optional<error_code> shut;
  client_.async_shutdown([&](error_code ec) { shut = ec; });
  std::string received;
  const TlsCompletion result = server_read(received);
  EXPECT_EQ(result.ec, asio::error::eof) << result.ec.message();
}

// (A FIN alone: a close with the server's session tickets unread would reset the connection.)
TEST_F(TlsSocketTest, AClientThatClosesWithoutCloseNotifyTruncatesTheStream) {
  client_.next_layer().shutdown(tcp::socket::shutdown_send);
  std::string received;
  const TlsCompletion result = server_read(received);
  EXPECT_EQ(result.ec, ssl::error::stream_truncated) << result.ec.message();
}

// A client gone while its answer is written is an error for the writer, never a SIGPIPE
// (which would end this test's process).
TEST_F(TlsSocketTest, WritingToAResetConnectionFails) {
  client_.next_layer().set_option(asio::socket_base::linger(true, 0));
  client_.next_layer().close();  // RST
  const std::string data = payload(64 * 1024);
  std::optional<TlsCompletion> written;
  asio::async_write(*server_, asio::buffer(data), [&](error_code ec, std::size_t n) {
    written = TlsCompletion{ec, n};
  });
  run_until([&] { return written.has_value(); });
  EXPECT_TRUE(written->ec);
}

// The server's close_notify goes out without waiting for the client's, once marked received
// (as the connections do before their lingering close); the client sees a clean end.
TEST_F(TlsSocketTest, AShutdownSendsCloseNotifyWithoutWaitingForTheClients) {
  SSL_set_shutdown(server_->native_handle(), SSL_RECEIVED_SHUTDOWN);
  std::optional<error_code> shut;
  server_->async_shutdown([&](error_code ec) { shut = ec; });
  run_until([&] { return shut.has_value(); });
  EXPECT_FALSE(*shut) << shut->message();
  char byte = 0;
  std::optional<error_code> read;
  client_.async_read_some(asio::buffer(&byte, 1), [&](error_code ec, std::size_t) { read = ec; });
  run_until([&] { return read.has_value(); });
  EXPECT_EQ(*read, asio::error::eof) << read->message();
}

TEST_F(TlsSocketTest, CancellingTheSocketEndsAPendingRead) {
  char buffer[16];
  std::optional<error_code> read;
  server_->async_read_some(asio::buffer(buffer), [&](error_code ec, std::size_t) { read = ec; });
  io_.poll();  // the read is waiting for the socket now
  ASSERT_FALSE(read);
  server_->lowest_layer().cancel();
  run_until([&] { return read.has_value(); });
  EXPECT_EQ(*read, asio::error::operation_aborted);
}

// TLS 1.3 lets the client ask for new keys at any time. Asked while the server's write waits
// for room, with an encrypted record still in OpenSSL's buffer, the server keeps reading and
// writing: OpenSSL sends its KeyUpdate only once that record is out.
TEST_F(TlsSocketTest, AKeyUpdateWhileAWriteWaitsForRoomKeepsTheConnection) {
  const std::string data = payload(4 * 1024 * 1024);  // far more than the socket takes
  std::optional<TlsCompletion> written;
  asio::async_write(*server_, asio::buffer(data), [&](error_code ec, std::size_t n) {
    written = TlsCompletion{ec, n};
  });
  io_.poll();
  ASSERT_FALSE(written) << "the write should be waiting for the client to read";
  ASSERT_EQ(SSL_key_update(client_.native_handle(), SSL_KEY_UPDATE_REQUESTED), 1);
  asio::write(client_, asio::buffer(std::string("ping")));
  std::string received;
  const TlsCompletion read = server_read(received);
  ASSERT_FALSE(read.ec) << read.ec.message();
  EXPECT_EQ(received, "ping");
  const auto [downloaded, reads] = client_read(data.size());
  run_until([&] { return written.has_value(); });
  EXPECT_FALSE(written->ec) << written->ec.message();
  EXPECT_EQ(downloaded, data);
}

// A socket closed while an operation waited (a deadline, a drain) is never read or written
// again by number: the number may belong to another connection by then.
// Here the closed socket's number is made another connection's (as an accept on another
// worker could), with bytes waiting: the read fails and leaves them there.
TEST_F(TlsSocketTest, AnOperationOnAClosedSocketFailsWithoutTouchingTheDescriptor) {
  const int number = server_->lowest_layer().native_handle();
  server_->lowest_layer().close();
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket other_peer(io_);
  other_peer.connect(acceptor.local_endpoint());
  tcp::socket other(io_);
  acceptor.accept(other);
  asio::write(other_peer, asio::buffer(std::string("another connection's bytes")));
  ASSERT_EQ(::dup2(other.native_handle(), number), number);
  char buffer[64];
  std::optional<error_code> read;
  server_->async_read_some(asio::buffer(buffer), [&](error_code ec, std::size_t) { read = ec; });
  run_until([&] { return read.has_value(); });
  EXPECT_EQ(*read, asio::error::bad_descriptor);
  char left[64];
  EXPECT_EQ(::recv(number, left, sizeof left, MSG_DONTWAIT), 26);
  ::close(number);
}

// A connection that hands itself to HTTP/2 moves its stream after the handshake.
TEST_F(TlsSocketTest, AMovedSocketKeepsTheSession) {
  TlsSocket moved(std::move(*server_));
  server_.reset();
  asio::write(client_, asio::buffer(std::string("after the move")));
  std::string received(64, '\0');
  std::optional<TlsCompletion> result;
  moved.async_read_some(asio::buffer(received), [&](error_code ec, std::size_t n) {
    result = TlsCompletion{ec, n};
  });
  run_until([&] { return result.has_value(); });
  EXPECT_FALSE(result->ec) << result->ec.message();
  EXPECT_EQ(received.substr(0, result->bytes), "after the move");
}

/// Where a lazy read puts its bytes, counting how often it was asked for the buffer and told to
/// give it back.
struct CountingTarget {
  std::string* storage;
  int* acquired;
  int* given_back;
  asio::mutable_buffer acquire() const {
    ++*acquired;
    storage->assign(32 * 1024, '\0');
    return asio::buffer(*storage);
  }
  void would_block() const {
    ++*given_back;
    storage->clear();
    storage->shrink_to_fit();
  }
};

TEST_F(TlsSocketTest, ALazyReadHoldsNoBufferWhileItWaits) {
  std::string storage;
  int acquired = 0;
  int given_back = 0;
  std::optional<TlsCompletion> result;
  server_->async_read_some_lazy(CountingTarget{&storage, &acquired, &given_back},
                                [&](error_code ec, std::size_t n) {
                                  result = TlsCompletion{ec, n};
                                });
  // The first try found nothing: the buffer went back and the read waits for the socket.
  EXPECT_EQ(acquired, 1);
  EXPECT_EQ(given_back, 1);
  EXPECT_EQ(storage.capacity(), std::string().capacity());

  asio::write(client_, asio::buffer(std::string("the next request")));
  run_until([&] { return result.has_value(); });
  ASSERT_FALSE(result->ec) << result->ec.message();
  EXPECT_EQ(acquired, 2);
  EXPECT_EQ(given_back, 1);
  EXPECT_EQ(storage.substr(0, result->bytes), "the next request");
}

TEST(TlsSocket, AClientThatSpeaksNoTlsFailsTheHandshakeWithAnOpenSslError) {
  asio::io_context io{1};
  const auto pem = albemu::testing::generate_self_signed("tls-socket.test", {});
  ssl::context context{ssl::context::tls_server};
  context.use_certificate_chain(asio::buffer(pem.certificate_pem));
  context.use_private_key(asio::buffer(pem.private_key_pem), ssl::context::pem);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  ClientSocket accepted(io);
  acceptor.accept(accepted);
  TlsSocket server(std::move(accepted), context);
  asio::write(client, asio::buffer(std::string("GET / HTTP/1.1\r\nhost: x\r\n\r\n")));
  std::optional<error_code> handshake;
  server.async_handshake([&](error_code ec) { handshake = ec; });
  while (!handshake && io.run_one() > 0) {
  }
  ASSERT_TRUE(handshake);
  EXPECT_EQ(handshake->category(), asio::error::get_ssl_category()) << handshake->message();
}

}  // namespace
}  // namespace albemu::net
