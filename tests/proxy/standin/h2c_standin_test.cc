// The stand-in in h2c (StandinOptions::http2) over raw sockets: what no HTTP/2 client shows.
// Answers to real clients are checked with curl (tests/integration/cli_standin_h2c_test.cc)
// and grpcio (tests/clients/standin_grpc_test.py).

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "proxy/standin/standin_server.h"

namespace albemu::standin {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
constexpr char kEmptySettings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};

class H2cStandinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.identity = {"grpc", "grpc-00001-abc", ""};
    options.http2 = true;
    server_ = std::make_unique<StandinServer>(options);
    ASSERT_FALSE(server_->start());
  }

  tcp::socket connect() {
    tcp::socket socket(io_context_);
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return socket;
  }

  /// Everything the stand-in sends until it closes the connection.
  static std::string read_to_end(tcp::socket& socket) {
    std::string out;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(out), ec);
    return out;
  }

  asio::io_context io_context_;
  std::unique_ptr<StandinServer> server_;
};

TEST_F(H2cStandinTest, OpensWithItsSettingsFrame) {
  auto socket = connect();
  asio::write(socket, asio::buffer(kClientPreface));
  asio::write(socket, asio::buffer(kEmptySettings, sizeof kEmptySettings));
  unsigned char header[9] = {};
  asio::read(socket, asio::buffer(header));
  EXPECT_EQ(header[3], 4) << "the first frame is SETTINGS";
  EXPECT_EQ(header[4], 0) << "not an ACK";
  EXPECT_EQ(header[2] % 6, 0) << "whole settings of 6 bytes each";
  EXPECT_GT(header[2], 0) << "it announces its limits";
}

TEST_F(H2cStandinTest, AnHttp11RequestGetsNoHttp11Answer) {
  // Like a service deployed with --use-http2, it speaks h2c only: the connection ends.
  auto socket = connect();
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  const std::string answer = read_to_end(socket);
  EXPECT_FALSE(answer.starts_with("HTTP/1.1")) << answer;
  EXPECT_EQ(server_->requests_served(), 0u);
}

TEST_F(H2cStandinTest, StopClosesOpenConnections) {
  auto socket = connect();
  asio::write(socket, asio::buffer(kClientPreface));
  asio::write(socket, asio::buffer(kEmptySettings, sizeof kEmptySettings));
  unsigned char header[9] = {};
  asio::read(socket, asio::buffer(header));  // the connection is up
  server_->stop();
  // What the stand-in had queued may still arrive, then the end: never a hang.
  read_to_end(socket);
  boost::system::error_code ec;
  char byte = 0;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace albemu::standin
