#include "proxy/standin/standin_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <thread>

namespace albemu::standin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class StandinServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.identity = {"login", "login-00001-abc", "test"};
    server_ = std::make_unique<StandinServer>(options);
    ASSERT_FALSE(server_->start());
    ASSERT_NE(server_->port(), 0);
  }

  /// A connected client socket (blocking, on the test thread).
  tcp::socket connect() {
    tcp::socket socket(io_context_);
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return socket;
  }

  http::response<http::string_body> exchange(tcp::socket& socket,
                                             http::request<http::string_body> request) {
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(socket, buffer, parser);
    return parser.release();
  }

  http::response<http::string_body> get(
      std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto socket = connect();
    http::request<http::string_body> request(http::verb::get, target, 11);
    for (const auto& [name, value] : headers) request.set(name, value);
    return exchange(socket, std::move(request));
  }

  asio::io_context io_context_;
  std::unique_ptr<StandinServer> server_;
};

TEST_F(StandinServerTest, AnswersWithTheEchoOfTheRequest) {
  const auto response = get("/web/page?x=1", {{"X-Test", "yes"}});
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  const auto echo = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(echo.at("service"), "login");
  EXPECT_EQ(echo.at("revision"), "login-00001-abc");
  EXPECT_EQ(echo.at("tag"), "test");
  EXPECT_EQ(echo.at("method"), "GET");
  EXPECT_EQ(echo.at("path"), "/web/page");
  EXPECT_EQ(echo.at("query"), "x=1");
  EXPECT_EQ(echo.at("headers").at("x-test"), boost::json::array({"yes"}));
  EXPECT_EQ(server_->requests_served(), 1u);
  // RFC 9110 6.6.1: an origin server with a clock sends Date (an IMF-fixdate, 29 bytes).
  EXPECT_EQ(response[http::field::date].size(), 29u) << response[http::field::date];
  EXPECT_TRUE(response[http::field::date].ends_with(" GMT")) << response[http::field::date];
}

TEST_F(StandinServerTest, CountsTheRequestBody) {
  auto socket = connect();
  http::request<http::string_body> request(http::verb::post, "/upload", 11);
  request.body() = std::string(3 * 1024 * 1024 + 7, 'b');
  const auto response = exchange(socket, std::move(request));
  const auto echo = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(echo.at("bodyLength").to_number<std::uint64_t>(), 3u * 1024 * 1024 + 7);
}

TEST_F(StandinServerTest, KeepsTheConnectionAliveAcrossRequests) {
  auto socket = connect();
  for (int i = 0; i < 3; ++i) {
    http::request<http::string_body> request(http::verb::get, "/n" + std::to_string(i), 11);
    const auto response = exchange(socket, std::move(request));
    EXPECT_EQ(boost::json::parse(response.body()).at("path").as_string(),
              ("/n" + std::to_string(i)).c_str());
  }
  EXPECT_EQ(server_->requests_served(), 3u);
}

TEST_F(StandinServerTest, StatusHookSetsTheStatus) {
  const auto response = get("/", {{"x-standin-status", "503"}});
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(boost::json::parse(response.body()).at("service"), "login");
}

TEST_F(StandinServerTest, StatusHookWithNoContentSendsNoBody) {
  const auto response = get("/", {{"x-standin-status", "204"}});
  EXPECT_EQ(response.result_int(), 204);
  EXPECT_TRUE(response.body().empty());
}

TEST_F(StandinServerTest, ResponseBytesHookStreamsAChunkedBody) {
  const auto response = get("/", {{"x-standin-response-bytes", "100003"}});
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_TRUE(response.chunked());
  ASSERT_EQ(response.body().size(), 100003u);
  EXPECT_EQ(response.body().find_first_not_of('x'), std::string::npos);
}

TEST_F(StandinServerTest, DelayHookAnswersAfterTheDelay) {
  const auto start = std::chrono::steady_clock::now();
  const auto response = get("/", {{"x-standin-delay-ms", "150"}});
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

TEST_F(StandinServerTest, EchoesWebSocketMessages) {
  websocket::stream<tcp::socket> ws(connect());
  ws.handshake("127.0.0.1", "/socket");
  ws.text(true);
  ws.write(asio::buffer(std::string("hello")));
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_TRUE(ws.got_text());
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "hello");
  buffer.clear();
  ws.binary(true);
  const std::string binary("\x00\x01\x02", 3);
  ws.write(asio::buffer(binary));
  ws.read(buffer);
  EXPECT_FALSE(ws.got_text());
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), binary);
  ws.close(websocket::close_code::normal);
}

TEST_F(StandinServerTest, StopClosesTheListenerAndOpenConnections) {
  auto socket = connect();
  const auto port = server_->port();
  server_->stop();
  // The open connection is closed: a read sees EOF (or a reset), never hangs.
  char byte = 0;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  tcp::socket again(io_context_);
  again.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_TRUE(ec);
}

TEST(StandinServerOnCallerContext, StopClosesOpenWebSockets) {
  asio::io_context server_context;
  StandinServer server(server_context, StandinOptions{"127.0.0.1", 0, {"chat", "chat-1", ""}});
  ASSERT_FALSE(server.start());
  std::thread runner([&] { server_context.run(); });

  asio::io_context client_context;
  websocket::stream<tcp::socket> ws(client_context);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ws.handshake("127.0.0.1", "/");
  ws.write(asio::buffer(std::string("ping")));
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "ping");

  server.stop();
  // The caller's io_context keeps running, yet the WebSocket is closed: the read fails.
  boost::system::error_code ec;
  buffer.clear();
  ws.read(buffer, ec);
  EXPECT_TRUE(ec);

  server_context.stop();
  runner.join();
}

TEST(StandinServerOnCallerContext, ServesOnTheCallersIoContext) {
  asio::io_context server_context;
  StandinServer server(server_context, StandinOptions{"127.0.0.1", 0, {"cart", "cart-1", ""}});
  ASSERT_FALSE(server.start());
  EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));
  std::thread runner([&] { server_context.run(); });

  asio::io_context client_context;
  tcp::socket socket(client_context);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  http::request<http::empty_body> request(http::verb::get, "/items", 11);
  request.set(http::field::host, "x");
  request.keep_alive(false);
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(boost::json::parse(response.body()).at("service"), "cart");

  server.stop();
  server_context.stop();
  runner.join();
}

TEST(StandinServerBind, ReportsABindFailure) {
  StandinServer first(StandinOptions{"127.0.0.1", 0, {}});
  ASSERT_FALSE(first.start());
  StandinServer second(StandinOptions{"127.0.0.1", first.port(), {}});
  EXPECT_TRUE(second.start());
  EXPECT_EQ(second.port(), 0);
}

}  // namespace
}  // namespace albemu::standin
