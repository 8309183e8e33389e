// Bodies stream through the proxy in bounded pieces (a 256 MiB upload and download keep the
// process's memory flat), and WebSocket upgrades become a byte tunnel.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <thread>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kLargeBody = 256u * 1024 * 1024;
/// Allowed growth of the resident set while a large body passes: buffers are 64 KiB pieces,
/// so anything near the body size (256 MiB) means something buffered it whole. AddressSanitizer
/// keeps freed memory in quarantine (256 MiB by default), so its builds get more room.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssGrowthLimitKb = 160 * 1024;
#else
constexpr long kRssGrowthLimitKb = 48 * 1024;
#endif

long resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

/// Samples the resident set on a thread while alive; reports the peak growth.
class RssWatch {
 public:
  RssWatch() : base_(resident_kb()), peak_(base_) {
    thread_ = std::thread([this] {
      while (!done_) {
        peak_ = std::max(peak_.load(), resident_kb());
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  ~RssWatch() { stop(); }
  long growth_kb() {
    stop();
    return peak_ - base_;
  }

 private:
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long base_;
  std::atomic<long> peak_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

class ProxyStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(proxy_.apply_yaml(basic_config(single_service_yaml(backend_.url()))), "");
  }

  TestBackend backend_{"app"};
  ProxyHarness proxy_;
};

TEST_F(ProxyStreamTest, ChunkedResponseIsRelayedChunked) {
  auto result = run_curl({proxy_.url("http-rule", "/bytes/100000")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.headers.find("Transfer-Encoding: chunked"), std::string::npos) << result.headers;
  EXPECT_TRUE(result.body == std::string(100000, 'x'))
      << result.body.size() << " exit " << result.exit_code << " " << result.headers;
  auto raw = raw_exchange(proxy_.port("http-rule"),
                          "GET /bytes/5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 5s);
  EXPECT_NE(raw.find("\r\n\r\n5\r\nxxxxx\r\n0\r\n\r\n"), std::string::npos) << raw;
}

TEST_F(ProxyStreamTest, LargeDownloadStreamsWithFlatMemory) {
  RssWatch watch;
  int exit_code = -1;
  auto out = run_command("curl -sS -o /dev/null -w '%{http_code} %{size_download}' " +
                             proxy_.url("http-rule", "/bytes/" + std::to_string(kLargeBody)),
                         &exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(out, "200 " + std::to_string(kLargeBody));
  EXPECT_LT(watch.growth_kb(), kRssGrowthLimitKb);
}

TEST_F(ProxyStreamTest, LargeChunkedUploadStreamsWithFlatMemory) {
  RssWatch watch;
  int exit_code = -1;
  auto out = run_command("head -c " + std::to_string(kLargeBody) + " /dev/zero | curl -sS -T - " +
                             proxy_.url("http-rule", "/upload"),
                         &exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("body-bytes: " + std::to_string(kLargeBody)), std::string::npos) << out;
  EXPECT_LT(watch.growth_kb(), kRssGrowthLimitKb);
}

TEST_F(ProxyStreamTest, WebSocketEchoThroughTheTunnel) {
  namespace websocket = boost::beast::websocket;
  boost::asio::io_context io;
  websocket::stream<boost::beast::tcp_stream> ws(io);
  boost::beast::get_lowest_layer(ws).expires_after(10s);
  boost::beast::get_lowest_layer(ws).connect(
      {boost::asio::ip::make_address("127.0.0.1"), proxy_.port("http-rule")});
  ws.handshake("app.example.com", "/chat");
  for (const std::string& message : {std::string("hello"), std::string(200000, 'w')}) {
    ws.write(boost::asio::buffer(message));
    boost::beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_EQ(boost::beast::buffers_to_string(buffer.data()), message);
  }
  ws.close(websocket::close_code::normal);
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"status\":101"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace albemu::testing
