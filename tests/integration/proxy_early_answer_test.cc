// Answers written while the request body is still arriving (albemu's own and the backend's),
// step by step over a raw socket: the client reads the answer, a small body left is read and
// dropped with the connection kept, a big one closes without a reset; a body malformed in the
// first packet never reaches the service; the Date field of albemu's own answers; empty lines
// before a request line.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <thread>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/raw_client.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;

class ProxyEarlyAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(proxy_.apply_yaml(basic_config(R"(
cloudRunServices:
  - name: app
    url: )" + backend_.url() + R"(
  - name: echo
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
  - name: echo-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: echo
  - name: mask-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: app-neg
  - name: echo-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: echo-neg
  - name: mask-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: mask-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: app-bs
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /moved/
            urlRedirect:
              pathRedirect: /new
              redirectResponseCode: FOUND
          - priority: 2
            matchRules:
              - prefixMatch: /nosuch/
            service: mask-bs
          - priority: 3
            matchRules:
              - prefixMatch: /echo/
            service: echo-bs
)")),
              "");
  }
  uint16_t port() { return proxy_.port("http-rule"); }

  TestBackend backend_{"app"};
  ProxyHarness proxy_{1};
};

std::string post_head(const std::string& path, std::size_t length) {
  return "POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

/// Sends `size` bytes of body in 64 KiB writes; false if the connection refused one.
bool send_body(RawClient& client, std::size_t size) {
  const std::string piece(64 * 1024, 'u');
  for (std::size_t sent = 0; sent < size; sent += piece.size()) {
    if (!client.send(std::string_view(piece).substr(0, std::min(piece.size(), size - sent))))
      return false;
  }
  return true;
}

bool has_field(const std::string& head, const std::string& field) {
  std::string lower = head.substr(0, head.find("\r\n\r\n"));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.find("\r\n" + field) != std::string::npos;
}

TEST_F(ProxyEarlyAnswerTest, LocalAnswerBeforeASmallBodyKeepsTheConnectionAndDropsTheBody) {
  // The redirect is written after the head alone; the 256 KiB body that follows is read and
  // dropped, and the next request on the same connection is served.
  RawClient client(port());
  ASSERT_TRUE(client.send(post_head("/moved/x", 256 * 1024)));
  ASSERT_TRUE(client.read_until_text("\r\n\r\n", 5s)) << client.received();
  EXPECT_EQ(status_of(client.received()), 302) << client.received();
  EXPECT_FALSE(has_field(client.received(), "connection: close")) << client.received();
  ASSERT_TRUE(send_body(client, 256 * 1024));
  ASSERT_TRUE(client.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("GET /after\n", 5s)) << client.received();
  EXPECT_FALSE(client.closed());
  EXPECT_EQ(backend_.requests(), 1);  // the body never turned into a request
}

TEST_F(ProxyEarlyAnswerTest, LocalAnswerBeforeABigBodyClosesOnlyAfterTheClientSentIt) {
  // 8 MiB left is more than albemu reads to keep the connection: it says Connection: close,
  // but keeps reading what the client sends, so the upload goes out whole and the close that
  // follows is a FIN, never a reset that would destroy the answer.
  RawClient client(port());
  ASSERT_TRUE(client.send(post_head("/nosuch/x", 8 * 1024 * 1024)));
  ASSERT_TRUE(client.read_until_text("no healthy upstream", 5s)) << client.received();
  EXPECT_EQ(status_of(client.received()), 503);
  EXPECT_TRUE(has_field(client.received(), "connection: close")) << client.received();
  EXPECT_TRUE(send_body(client, 8 * 1024 * 1024)) << "albemu stopped reading mid-upload";
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_FALSE(client.was_reset());
}

TEST_F(ProxyEarlyAnswerTest, BackendAnswerBeforeASmallBodyKeepsTheClientConnection) {
  // The backend answers 413 after the head and closes; the client's 512 KiB are dropped by
  // albemu, which keeps the client connection for the next request.
  RawClient client(port());
  ASSERT_TRUE(client.send(post_head("/early/413", 512 * 1024)));
  ASSERT_TRUE(client.read_until_text("early", 5s)) << client.received();
  EXPECT_EQ(status_of(client.received()), 413) << client.received();
  EXPECT_FALSE(has_field(client.received(), "connection: close")) << client.received();
  ASSERT_TRUE(send_body(client, 512 * 1024));
  ASSERT_TRUE(client.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("GET /after\n", 5s)) << client.received();
  EXPECT_EQ(backend_.requests_for("/after"), 1);
}

TEST_F(ProxyEarlyAnswerTest, LargeEarlyAnswerArrivesIntactWhileTheUploadGoesOn) {
  // The backend streams 2 MiB back before it reads the 2 MiB body, which the client keeps
  // sending meanwhile: the answer's bytes and the body's must never share a buffer.
  constexpr std::size_t kAnswer = 2 * 1024 * 1024;
  constexpr std::size_t kUpload = 2 * 1024 * 1024;
  RawClient client(port());
  ASSERT_TRUE(client.send(post_head("/early-bytes/" + std::to_string(kAnswer), kUpload)));
  std::thread uploader([&] { send_body(client, kUpload); });
  const bool whole = client.read_until(
      [&](const std::string& received) {
        const auto head_end = received.find("\r\n\r\n");
        return head_end != std::string::npos && received.size() >= head_end + 4 + kAnswer;
      },
      std::chrono::steady_clock::now() + 20s);
  uploader.join();
  ASSERT_TRUE(whole) << client.received().size();
  const std::string& received = client.received();
  EXPECT_EQ(status_of(received), 200);
  const std::size_t body_start = received.find("\r\n\r\n") + 4;
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < kAnswer; ++i) wrong += received[body_start + i] != pattern_byte(i);
  EXPECT_EQ(wrong, 0u) << "bytes of the answer differ from what the backend sent";
}

TEST_F(ProxyEarlyAnswerTest, ChunkedBodyOverTheBoundEndsInALingeringClose) {
  // A chunked body has no announced size: albemu keeps the connection while it drops up to
  // 1 MiB, then closes, still reading until the client is done.
  RawClient client(port());
  ASSERT_TRUE(
      client.send("POST /moved/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("\r\n\r\n", 5s)) << client.received();
  EXPECT_EQ(status_of(client.received()), 302);
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'u') + "\r\n";
  bool sent = true;
  for (int i = 0; i < 64 && sent; ++i) sent = client.send(chunk);  // 4 MiB
  EXPECT_TRUE(sent) << "albemu stopped reading mid-upload";
  EXPECT_TRUE(client.send("0\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_FALSE(client.was_reset());
}

TEST_F(ProxyEarlyAnswerTest, BrokenChunkAfterAnEarlyAnswerClosesInsteadOfStartingARequest) {
  // A request sent where a chunk-size line belongs is no request: after the early answer the
  // connection closes rather than reading it as the next one. Both orders: the broken chunk
  // arrives after the answer ended, or while it is still being relayed.
  for (const bool during_answer : {false, true}) {
    SCOPED_TRACE(during_answer ? "during the answer" : "after the answer");
    RawClient client(port());
    const std::string path = during_answer ? "/early-bytes/100/half-gated" : "/early/401";
    ASSERT_TRUE(client.send("POST " + path +
                            " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n"));
    ASSERT_TRUE(client.read_until_text(during_answer ? "\r\n\r\n" : "early", 5s))
        << client.received();
    ASSERT_TRUE(client.send("GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"));
    if (during_answer) {
      // The relay's read of the body gets the bytes before the answer ends.
      ASSERT_TRUE(client.read_until_text(std::string(1, pattern_byte(49)), 5s));
      backend_.open_gate();
    }
    EXPECT_TRUE(client.read_until_closed(5s)) << client.received();
    EXPECT_EQ(client.received().find("/smuggled"), std::string::npos) << client.received();
  }
  EXPECT_EQ(backend_.requests_for("/smuggled"), 0);
}

TEST_F(ProxyEarlyAnswerTest, ChunkSizeOverflowInTheFirstPacketNeverReachesTheService) {
  bool closed = false;
  const auto answer =
      raw_exchange(port(),
                   "POST /app/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10000000000000000\r\nhello\r\n0\r\n\r\n",
                   5s, &closed);
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_TRUE(closed);
  EXPECT_EQ(backend_.connections(), 0) << "the request head was sent to the service";
}

TEST_F(ProxyEarlyAnswerTest, AnswersAlbemuWritesCarryADate) {
  // RFC 9110 6.6.1: an IMF-fixdate on every answer of a server with a clock.
  const std::regex date(R"(\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d )"
                        R"((Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} )"
                        R"(\d\d:\d\d:\d\d GMT\r\n)",
                        std::regex::icase);
  for (const auto& [request, status] : std::vector<std::pair<std::string, int>>{
           {"GET /moved/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 302},
           {"GET /nosuch/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 503},
           {"GET /echo/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200},  // stand-in
           {"GET /x HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
       }) {
    SCOPED_TRACE(request);
    const auto answer = raw_exchange(port(), request, 5s);
    EXPECT_EQ(status_of(answer), status) << answer;
    EXPECT_TRUE(std::regex_search(answer, date)) << answer;
  }
}

TEST_F(ProxyEarlyAnswerTest, EmptyLinesBeforeARequestLineAreIgnored) {
  // RFC 9112 2.2: a CRLF before the request line, as some clients send after a POST body.
  RawClient client(port());
  ASSERT_TRUE(client.send("\r\nGET /first HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("GET /first\n", 5s)) << client.received();
  ASSERT_TRUE(
      client.send("POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\r\n\r\n"
                  "GET /third HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("GET /third\n", 5s)) << client.received();
  EXPECT_EQ(client.received().find("400 Bad Request"), std::string::npos) << client.received();
  EXPECT_EQ(backend_.requests(), 3);
}

}  // namespace
}  // namespace albemu::testing
