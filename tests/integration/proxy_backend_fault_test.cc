// Backends that misbehave, end to end with real sockets: what the client gets (status, body, or
// a closed connection), the access-log line's proxyStatus and statusDetails (spec sections 0
// and 8), and that the one worker keeps serving other requests while a fault is in progress.

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/raw_client.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;

/// The log line whose requestUrl ends with `path` (or "" if none).
std::string line_for(const std::vector<std::string>& lines, const std::string& path) {
  for (const auto& line : lines) {
    if (line.find(path + "\"") != std::string::npos) return line;
  }
  return "";
}

class ProxyBackendFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string yaml = basic_config(R"(
cloudRunServices:
  - name: app
    url: )" + faulty_.url() + R"(
  - name: healthy
    url: )" + healthy_.url() + R"(
  - name: closed
    url: http://127.0.0.1:1
networkEndpointGroups:
  - name: by-path
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
backendServices:
  - name: by-path
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: by-path
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: app-neg
urlMaps:
  - name: test-map
    defaultService: by-path
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: by-path
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /timeout/
            service: app-bs
            routeAction:
              timeout:
                seconds: 2
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    ASSERT_NE(proxy_.port("http-rule"), 0);
  }

  std::future<CurlResult> curl_async(std::vector<std::string> args) {
    return std::async(std::launch::async, [args = std::move(args)] { return run_curl(args); });
  }

  /// While a request to `fault_path` waits at the faulty backend (which received it and holds
  /// it at its gate), a request to the healthy backend completes on the same (only) worker.
  /// Then the gate opens and the faulty request's result is returned.
  CurlResult fault_while_serving(const std::string& fault_path,
                                 std::vector<std::string> extra_args = {}) {
    const int before = faulty_.requests();
    extra_args.push_back(proxy_.url("http-rule", fault_path));
    auto fault = curl_async(std::move(extra_args));
    EXPECT_TRUE(poll_until([&] { return faulty_.requests() > before; }, 10s))
        << fault_path << " never reached the backend";
    auto healthy = run_curl({proxy_.url("http-rule", "/healthy/during")});
    EXPECT_EQ(healthy.status, 200);
    EXPECT_EQ(healthy.body.rfind("GET /healthy/during\n", 0), 0u) << healthy.body;
    // The faulty request is still held at the gate: the healthy one did not wait for it.
    EXPECT_EQ(fault.wait_for(0ms), std::future_status::timeout);
    faulty_.open_gate();
    return fault.get();
  }

  TestBackend faulty_{"faulty"};
  TestBackend healthy_{"healthy"};
  ProxyHarness proxy_{1};  // one worker: the fault and the healthy requests share it
};

TEST_F(ProxyBackendFaultTest, RefusedConnectionIs502WithBodyAndLog) {
  auto result = run_curl({proxy_.url("http-rule", "/closed/x")});
  EXPECT_EQ(result.status, 502);
  EXPECT_EQ(result.body,
            "upstream connect error or disconnect/reset before headers. reset reason: "
            "connection failure");
  EXPECT_NE(result.headers.find("text/plain"), std::string::npos) << result.headers;
  auto next = run_curl({proxy_.url("http-rule", "/healthy/after")});
  EXPECT_EQ(next.status, 200);
  auto line = line_for(proxy_.wait_for_log_lines(2), "/closed/x");
  EXPECT_NE(line.find(R"("status":502)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(error=\"connection_refused\"; details=\"failed_to_connect_to_backend\")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("statusDetails":"failed_to_connect_to_backend")"), std::string::npos)
      << line;
}

TEST_F(ProxyBackendFaultTest, ResetBeforeHeadersIs502WhileTheWorkerServesOthers) {
  auto result = fault_while_serving("/app/gated/reset");
  EXPECT_EQ(result.status, 502);
  EXPECT_EQ(result.body,
            "upstream connect error or disconnect/reset before headers. reset reason: "
            "connection termination");
  auto line = line_for(proxy_.wait_for_log_lines(2), "/app/gated/reset");
  EXPECT_NE(line.find(R"("status":502)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(details=\"backend_connection_closed_before_data_sent_to_client\")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("statusDetails":"backend_connection_closed_before_data_sent_to_client")"),
            std::string::npos)
      << line;
}

/// The first body bytes reached the client, then the backend reset (RST) or closed (FIN with
/// fewer bytes than announced): the client connection is closed, the log tells the partial
/// response apart from a failure before any byte.
void expect_cut_after_partial(ProxyHarness& proxy, const std::string& path) {
  RawClient client(proxy.port("http-rule"));
  ASSERT_TRUE(client.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s)) << client.received();
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << client.received();
  EXPECT_NE(client.received().find("Content-Length: 1000\r\n"), std::string::npos);
  EXPECT_EQ(client.received().substr(client.received().find("\r\n\r\n") + 4), "0123456789");
  auto line = line_for(proxy.wait_for_log_lines(1), path);
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
  EXPECT_NE(
      line.find(
          R"(error=\"connection_terminated\"; details=\"backend_connection_closed_after_partial_response_sent\")"),
      std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("statusDetails":"backend_connection_closed_after_partial_response_sent")"),
            std::string::npos)
      << line;
}

TEST_F(ProxyBackendFaultTest, ResetMidBodyClosesTheClientAndLogsThePartialResponse) {
  expect_cut_after_partial(proxy_, "/app/rst-partial");
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

TEST_F(ProxyBackendFaultTest, ShortContentLengthThenCloseClosesTheClient) {
  expect_cut_after_partial(proxy_, "/app/partial");
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

/// A malformed response head: 502 with Envoy's protocol-error body and a protocol-error log.
void expect_protocol_error(ProxyHarness& proxy, const CurlResult& result, const std::string& path) {
  EXPECT_EQ(result.status, 502) << path;
  EXPECT_EQ(result.body,
            "upstream connect error or disconnect/reset before headers. reset reason: "
            "protocol error")
      << path;
  auto line = line_for(proxy.log_lines(), path);
  EXPECT_NE(line.find(R"("status":502)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(error=\"http_protocol_error\"; details=\"backend_response_corrupted\")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("statusDetails":"backend_response_corrupted")"), std::string::npos)
      << line;
}

TEST_F(ProxyBackendFaultTest, GarbageStatusLineIs502ProtocolError) {
  auto result = fault_while_serving("/app/gated/malformed/status");
  proxy_.wait_for_log_lines(2);
  expect_protocol_error(proxy_, result, "/app/gated/malformed/status");
}

TEST_F(ProxyBackendFaultTest, InvalidHeaderIs502ProtocolError) {
  auto result = run_curl({proxy_.url("http-rule", "/app/malformed/header")});
  proxy_.wait_for_log_lines(1);
  expect_protocol_error(proxy_, result, "/app/malformed/header");
}

TEST_F(ProxyBackendFaultTest, BadChunkBeforeAnyByteWasSentIs502) {
  // The bad chunk arrives with the head: nothing went to the client yet, so it gets the 502.
  auto result = run_curl({proxy_.url("http-rule", "/app/malformed/chunk")});
  proxy_.wait_for_log_lines(1);
  expect_protocol_error(proxy_, result, "/app/malformed/chunk");
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

TEST_F(ProxyBackendFaultTest, BadChunkAfterTheFirstBytesClosesTheClient) {
  RawClient client(proxy_.port("http-rule"));
  ASSERT_TRUE(client.send("GET /app/malformed/late-chunk HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("hello", 10s)) << client.received();
  faulty_.open_gate();
  EXPECT_TRUE(client.read_until_closed(10s)) << client.received();
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << client.received();
  // The body never ends properly: no last chunk.
  EXPECT_EQ(client.received().find("0\r\n\r\n"), std::string::npos) << client.received();
  auto line = line_for(proxy_.wait_for_log_lines(1), "/app/malformed/late-chunk");
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(error=\"http_protocol_error\"; details=\"backend_response_corrupted\")"),
            std::string::npos)
      << line;
}

TEST_F(ProxyBackendFaultTest, HugeResponseHeaderIs502ProtocolError) {
  auto result = fault_while_serving("/app/gated/bigheader/70000");
  proxy_.wait_for_log_lines(2);
  expect_protocol_error(proxy_, result, "/app/gated/bigheader/70000");
  // A header just under the limit still passes.
  auto fits = run_curl({proxy_.url("http-rule", "/app/bigheader/50000")});
  EXPECT_EQ(fits.status, 200);
  EXPECT_EQ(fits.body, "ok");
}

TEST_F(ProxyBackendFaultTest, StallBeforeHeadersIs504AfterTheRouteTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto fault = curl_async({proxy_.url("http-rule", "/timeout/gated")});
  ASSERT_TRUE(poll_until([&] { return faulty_.requests() == 1; }, 10s));
  auto healthy = run_curl({proxy_.url("http-rule", "/healthy/during")});
  EXPECT_EQ(healthy.status, 200);
  EXPECT_EQ(fault.wait_for(0ms), std::future_status::timeout);  // still stalled
  auto result = fault.get();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.status, 504);
  EXPECT_EQ(result.body, "upstream request timeout");
  EXPECT_GE(elapsed, 1900ms);  // the route's 2 s
  EXPECT_LT(elapsed, 9s);      // not the backend's 10 s gate
  auto line = line_for(proxy_.wait_for_log_lines(2), "/timeout/gated");
  EXPECT_NE(line.find(R"("status":504)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(error=\"http_response_timeout\"; details=\"backend_timeout\")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("statusDetails":"backend_timeout")"), std::string::npos) << line;
}

TEST_F(ProxyBackendFaultTest, StallMidBodyDoesNotHoldTheWorker) {
  RawClient client(proxy_.port("http-rule"));
  ASSERT_TRUE(client.send("GET /app/gate-body HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("0123456789", 10s)) << client.received();
  auto healthy = run_curl({proxy_.url("http-rule", "/healthy/during")});
  EXPECT_EQ(healthy.status, 200);
  faulty_.open_gate();
  ASSERT_TRUE(client.read_until_text("0123456789abcdefghij", 10s)) << client.received();
  // The stalled response completed normally; the client connection stays usable.
  ASSERT_TRUE(client.send("GET /healthy/again HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_NE(client.received().find("GET /healthy/again\n"), std::string::npos) << client.received();
}

TEST_F(ProxyBackendFaultTest, StallMidBodyPastTheRouteTimeoutClosesTheClient) {
  RawClient client(proxy_.port("http-rule"));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.send("GET /timeout/stall-body/6000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s)) << client.received();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_LT(elapsed, 5900ms);  // cut at the route timeout, not when the backend resumed
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << client.received();
  EXPECT_EQ(client.received().substr(client.received().find("\r\n\r\n") + 4), "0123456789");
  auto line = line_for(proxy_.wait_for_log_lines(1), "/timeout/stall-body/6000");
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(error=\"http_response_timeout\"; details=\"backend_timeout\")"),
            std::string::npos)
      << line;
}

TEST_F(ProxyBackendFaultTest, IdempotentRequestIsRetriedWhenAReusedConnectionDies) {
  // The first request leaves a pooled connection; on it, the backend reads the next request
  // and closes without answering. A GET goes again on a fresh connection.
  RawClient client(proxy_.port("http-rule"));
  ASSERT_TRUE(client.send("GET /app/warm HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("body-bytes: 0\n", 10s));
  ASSERT_TRUE(
      client.send("GET /app/drop-if-reused HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_NE(client.received().find("GET /app/drop-if-reused\n"), std::string::npos)
      << client.received();
  EXPECT_EQ(faulty_.requests_for("/app/drop-if-reused"), 2);
  EXPECT_EQ(faulty_.connections(), 2);
  auto line = line_for(proxy_.wait_for_log_lines(2), "/app/drop-if-reused");
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
}

TEST_F(ProxyBackendFaultTest, PostIsNotReplayedWhenAReusedConnectionDiesAfterSending) {
  // Same race, but a POST: the backend may have acted on it, so it is not sent twice. Without
  // a body (complete with its head, so albemu could resend it) and with one.
  const std::vector<std::string> bodies = {"", "hello"};
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::string path = "/app/drop-if-reused/" + std::to_string(i);
    RawClient client(proxy_.port("http-rule"));
    ASSERT_TRUE(client.send("GET /app/warm HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(client.read_until_text("body-bytes: 0\n", 10s));
    ASSERT_TRUE(client.send("POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                            std::to_string(bodies[i].size()) + "\r\nConnection: close\r\n\r\n" +
                            bodies[i]));
    EXPECT_TRUE(client.read_until_closed(10s));
    EXPECT_NE(client.received().find("HTTP/1.1 502 Bad Gateway\r\n"), std::string::npos)
        << client.received();
    EXPECT_EQ(faulty_.requests_for(path), 1) << path;
    auto line = line_for(proxy_.wait_for_log_lines(2 * (i + 1)), path);
    EXPECT_NE(
        line.find(R"("statusDetails":"backend_connection_closed_before_data_sent_to_client")"),
        std::string::npos)
        << line;
  }
}

TEST_F(ProxyBackendFaultTest, PostOnAPooledConnectionClosedWhileIdleUsesAFreshOne) {
  // The backend closed the pooled connection while it was idle (before the POST went out):
  // the pool's liveness check catches it, so the POST is sent once, on a new connection.
  RawClient client(proxy_.port("http-rule"));
  ASSERT_TRUE(client.send("GET /app/close-after HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("body-bytes: 0\n", 10s));
  // Only once the backend has closed it: a close racing with the POST is the case above.
  ASSERT_TRUE(poll_until([&] { return faulty_.closed_after_answer() == 1; }, 10s));
  ASSERT_TRUE(
      client.send("POST /app/posted HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  "Connection: close\r\n\r\nhello"));
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_NE(client.received().find("POST /app/posted\n"), std::string::npos) << client.received();
  EXPECT_NE(client.received().find("body-bytes: 5\n"), std::string::npos);
  EXPECT_EQ(faulty_.requests_for("/app/posted"), 1);
}

TEST_F(ProxyBackendFaultTest, GetOnAPooledConnectionResetWhileIdleIsSentAgainOnAFreshOne) {
  // The backend reset the pooled connection while it was idle. A GET skips the pool's
  // liveness check (it may be sent twice), so writing its head is what fails: nothing left,
  // so it goes again on a new connection and the client never sees the reset.
  RawClient client(proxy_.port("http-rule"));
  ASSERT_TRUE(client.send("GET /app/idle-rst HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(client.read_until_text("body-bytes: 0\n", 10s));
  faulty_.open_gate();
  ASSERT_TRUE(poll_until([&] { return faulty_.closed_after_answer() == 1; }, 10s));
  ASSERT_TRUE(client.send("GET /app/next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(client.read_until_closed(10s));
  EXPECT_NE(client.received().find("GET /app/next\n"), std::string::npos) << client.received();
  EXPECT_EQ(faulty_.requests_for("/app/next"), 1);
  EXPECT_EQ(faulty_.connections(), 2);
  auto line = line_for(proxy_.wait_for_log_lines(2), "/app/next");
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
}

TEST_F(ProxyBackendFaultTest, InterimResponsesAreDroppedBeforeTheFinalOne) {
  for (const std::string code : {"100", "103"}) {
    auto result = run_curl({proxy_.url("http-rule", "/app/interim/" + code)});
    EXPECT_EQ(result.status, 200) << code;
    EXPECT_EQ(result.body.rfind("GET /app/interim/" + code + "\n", 0), 0u) << result.body;
    // Only the final head reached the client.
    EXPECT_EQ(result.headers.find("Interim"), std::string::npos) << result.headers;
    EXPECT_EQ(result.headers.find("HTTP/1.1", 1), std::string::npos) << result.headers;
  }
  // The connection is pooled after the final response (nothing left unread).
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/app/after")}).status, 200);
  EXPECT_EQ(faulty_.connections(), 1);
}

/// A 4 MiB file to upload (more than the socket buffers hold); removed by the destructor.
struct Upload {
  explicit Upload(std::size_t size = 4 * 1024 * 1024) {
    std::ofstream out(path, std::ios::binary);
    out << std::string(size, 'u');
  }
  ~Upload() { std::remove(path.c_str()); }
  const std::string path = "/tmp/albemu-fault-upload-" + std::to_string(::getpid());
};

TEST_F(ProxyBackendFaultTest, EarlyResponseBeforeTheBodyIsSentReachesTheClient) {
  // The backend refuses a 4 MiB upload after its head and closes: albemu passes its answer on
  // and closes the client connection (the rest of the body will never be read).
  Upload upload;
  auto result = run_curl({"-H", "Expect:", "--data-binary", "@" + upload.path,
                          proxy_.url("http-rule", "/app/early/413")});
  EXPECT_EQ(result.status, 413);
  EXPECT_EQ(result.body, "early");
  EXPECT_NE(result.headers.find("Connection: close"), std::string::npos) << result.headers;
  EXPECT_EQ(faulty_.requests_for("/app/early/413"), 1);
  auto line = line_for(proxy_.wait_for_log_lines(1), "/app/early/413");
  EXPECT_NE(line.find(R"("status":413)"), std::string::npos) << line;
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

TEST_F(ProxyBackendFaultTest, ClientAbandoningAnUploadReleasesTheBackendConnectionAtOnce) {
  // The route has no timeout (60 min): a client that leaves mid-upload must not leave its
  // backend connection (and the exchange watching it) waiting that long.
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket client(io);
    client.connect({boost::asio::ip::make_address("127.0.0.1"), proxy_.port("http-rule")});
    const std::string head =
        "POST /app/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789";
    boost::asio::write(client, boost::asio::buffer(head));
    ASSERT_TRUE(poll_until([&] { return faulty_.requests() == 1; }));
  }  // the client closes with 99,990 bytes of body unsent
  EXPECT_TRUE(poll_until([&] { return faulty_.connections_ended() == 1; }, 5s))
      << "albemu kept the backend connection of an abandoned upload open";
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

TEST_F(ProxyBackendFaultTest, EarlySuccessFromABackendThatStopsReadingIsPassedOnAtOnce) {
  // The backend answers 200 after the head and stops reading without closing: albemu must not
  // wait for the upload to go through (it never would) nor for the route timeout (2 s).
  // 32 MiB: more than loopback's socket buffers (albemu's send and the backend's receive side)
  // can take, so the body cannot go through before the answer is read, however busy the
  // machine.
  Upload upload(32 * 1024 * 1024);
  const auto start = std::chrono::steady_clock::now();
  auto result = run_curl({"-H", "Expect:", "--data-binary", "@" + upload.path,
                          proxy_.url("http-rule", "/timeout/early-stay/200")});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1900ms);
  faulty_.open_gate();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "early");
  // The rest of the body is never read: the client connection is closed after the answer.
  EXPECT_NE(result.headers.find("Connection: close"), std::string::npos) << result.headers;
  auto line = line_for(proxy_.wait_for_log_lines(1), "/timeout/early-stay/200");
  EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("statusDetails":"backend_early_response_with_non_error_status")"),
            std::string::npos)
      << line;
  EXPECT_EQ(run_curl({proxy_.url("http-rule", "/healthy/after")}).status, 200);
}

TEST_F(ProxyBackendFaultTest, InterimAnswerDuringTheUploadDoesNotEndIt) {
  // A backend may send 100 Continue on its own while the body streams; the body still goes
  // through whole and the final answer follows.
  Upload upload;
  auto result = run_curl({"-H", "Expect:", "--data-binary", "@" + upload.path,
                          proxy_.url("http-rule", "/app/continue-first")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("body-bytes: 4194304\n"), std::string::npos) << result.body;
  EXPECT_EQ(result.headers.find("100 Continue"), std::string::npos) << result.headers;
  auto line = line_for(proxy_.wait_for_log_lines(1), "/app/continue-first");
  EXPECT_NE(line.find(R"("statusDetails":"response_sent_by_backend")"), std::string::npos) << line;
}

}  // namespace
}  // namespace albemu::testing
