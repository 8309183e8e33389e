// Hostile clients at the connection level: slow heads and stalled bodies (slowloris), a
// client that stops reading a large response, plaintext and garbage on the TLS port,
// truncated and abandoned handshakes, hostile SNI, and floods of connections opened and
// dropped. Each case also checks that other clients are served meanwhile.
//
// Decisions: a head not finished within the header timeout gets 408 and the connection
// closes; a stalled request body is closed, without an answer, after the target proxy's
// keepalive (idle) timeout; anything that is not TLS on the TLS port is closed without an
// answer (as Envoy's TLS transport does); a handshake left unfinished is closed after the TLS
// handshake timeout (10 s by default; 1.5 s here).

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/raw_client.h"
#include "tests/integration/support/test_backend.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A real TLS 1.2/1.3 ClientHello record for `server_name`, made with OpenSSL in memory.
std::string client_hello(const std::string& server_name) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(context);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_tlsext_host_name(ssl, server_name.c_str());
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read: the hello is in `out`
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(size));
  SSL_free(ssl);
  SSL_CTX_free(context);
  return hello;
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

class ProxyHostileTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(proxy_.apply_yaml(yaml()), "");
    plain_ = proxy_.port("http-rule");
    tls_ = proxy_.port("https-rule");
    ASSERT_NE(plain_, 0);
    ASSERT_NE(tls_, 0);
  }

  std::string yaml() const {
    std::string certificates = "sslCertificates:\n";
    for (const auto& [name, cert] : {std::pair{"cert-a", cert_a_}, std::pair{"cert-b", cert_b_}}) {
      certificates += std::string("  - name: ") + name + "\n    certificate: |\n" +
                      indent(cert.certificate_pem, "      ") + "    privateKey: |\n" +
                      indent(cert.private_key_pem, "      ");
    }
    return "project: it-project\nregion: us-central1\n" + single_service_yaml(backend_.url()) +
           R"(targetHttpProxies:
  - name: http-proxy
    urlMap: test-map
    httpKeepAliveTimeoutSec: 5
targetHttpsProxies:
  - name: https-proxy
    urlMap: test-map
    httpKeepAliveTimeoutSec: 5
    sslCertificates: [cert-a, cert-b]
forwardingRules:
  - name: http-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "80"
    target: regions/us-central1/targetHttpProxies/http-proxy
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "443"
    target: regions/us-central1/targetHttpsProxies/https-proxy
)" + certificates;
  }

  /// One request over plain HTTP and one over TLS, both must be answered by the backend.
  void expect_served(const std::string& path) {
    const auto plain =
        run_curl({"--max-time", "5", "http://127.0.0.1:" + std::to_string(plain_) + path});
    EXPECT_EQ(plain.status, 200) << path;
    const auto tls =
        run_curl({"-k", "--max-time", "5", "https://127.0.0.1:" + std::to_string(tls_) + path});
    EXPECT_EQ(tls.status, 200) << path;
  }

  std::string served_subject(const std::string& servername) {
    return run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(tls_) +
                       " -servername '" + servername +
                       "' </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null");
  }

  TestBackend backend_{"app"};
  TestCertificate cert_a_ = generate_self_signed("a.example.com", {"a.example.com"});
  TestCertificate cert_b_ = generate_self_signed("b.example.com", {"b.example.com"});
  static net::ClientTimeouts timeouts() {
    net::ClientTimeouts timeouts;
    timeouts.request_header = 300ms;
    timeouts.tls_handshake = 1500ms;
    return timeouts;
  }

  ProxyHarness proxy_{2, timeouts()};
  uint16_t plain_ = 0;
  uint16_t tls_ = 0;
};

// ---- slowloris

TEST_F(ProxyHostileTlsTest, TrickledHeadsGet408WhileOthersAreServed) {
  constexpr int kSlowClients = 20;
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < kSlowClients; ++i) {
    slow.push_back(std::make_unique<RawClient>(plain_));
    ASSERT_TRUE(slow.back()->connected());
  }
  // One byte per client every 25 ms: 300 ms of header timeout covers about 12 bytes.
  const std::string head = "GET /slow-head HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(200, 'p');
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  std::thread trickler([&] {
    for (std::size_t at = 0; at < head.size() && !stop; ++at) {
      for (auto& client : slow) client->send(head.substr(at, 1));
      std::this_thread::sleep_for(25ms);  // the client's pace, not synchronisation
    }
  });
  expect_served("/during-slowloris");
  for (auto& client : slow) {
    EXPECT_TRUE(client->read_until(
        [](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; },
        start + 3s));
    EXPECT_EQ(status_of(client->received()), 408) << client->received();
  }
  EXPECT_LT(Clock::now() - start, 3s);
  stop = true;
  trickler.join();
  for (auto& client : slow) EXPECT_TRUE(client->read_until_closed(5s));
  EXPECT_EQ(backend_.requests_for("/slow-head"), 0);
  EXPECT_EQ(backend_.requests_for("/during-slowloris"), 2);
}

TEST_F(ProxyHostileTlsTest, StalledBodyIsClosedAfterTheIdleTimeout) {
  RawClient stalled(plain_);
  ASSERT_TRUE(stalled.send("POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                           std::string(100, 'b')));
  const auto start = Clock::now();
  expect_served("/during-stall");
  // The 5 s keepalive bounds each body read; nothing is answered (no response started, the
  // backend is waiting for the rest of the body).
  EXPECT_TRUE(stalled.read_until_closed(9s));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 4500ms);
  EXPECT_LT(waited, 8s);
  EXPECT_EQ(stalled.received(), "");
  EXPECT_EQ(backend_.requests_for("/stalled"), 0);
}

TEST_F(ProxyHostileTlsTest, TrickledBodiesAreRelayedWhileOthersAreServed) {
  // A body that keeps coming, however slowly, is not cut: each piece restarts the idle
  // timeout (as Envoy's stream idle timeout does). Meanwhile the workers serve others.
  constexpr int kClients = 5;
  const std::string body(20, 'b');
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(plain_));
    ASSERT_TRUE(
        clients.back()->send("POST /trickled HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n"
                             "Connection: close\r\n\r\n"));
  }
  std::thread trickler([&] {
    for (char byte : body) {
      for (auto& client : clients) client->send(std::string(1, byte));
      std::this_thread::sleep_for(40ms);  // the client's pace, not synchronisation
    }
  });
  expect_served("/during-trickle");
  trickler.join();
  for (auto& client : clients) {
    EXPECT_TRUE(client->read_until_closed(5s));
    EXPECT_EQ(status_of(client->received()), 200) << client->received();
    EXPECT_NE(client->received().find("body-bytes: 20"), std::string::npos) << client->received();
  }
  EXPECT_EQ(backend_.requests_for("/trickled"), kClients);
}

TEST_F(ProxyHostileTlsTest, ClientThatStopsReadingHoldsBoundedMemory) {
  // One worker, so the stuck response and the other clients share it.
  ProxyHarness single{1, 300ms};
  ASSERT_EQ(single.apply_yaml(yaml()), "");
  const long resident_before = resident_kib();
  RawClient stuck(single.port("http-rule"));
  stuck.set_receive_buffer(4096);
  ASSERT_TRUE(stuck.send("GET /bytes/2000000000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(poll_until([&] { return backend_.requests_for("/bytes/2000000000") == 1; }, 5s));
  // Other clients on the same worker for a while: an unbounded relay would buffer gigabytes.
  const auto until = Clock::now() + 1500ms;
  int served = 0;
  while (Clock::now() < until) {
    const auto began = Clock::now();
    const auto result = run_curl({"--max-time", "5", single.url("http-rule", "/meanwhile")});
    ASSERT_EQ(result.status, 200);
    EXPECT_LT(Clock::now() - began, 2s);
    ++served;
  }
  EXPECT_GE(served, 3);
  const long grown_kib = resident_kib() - resident_before;
  EXPECT_LT(grown_kib, 64 * 1024) << "resident memory grew by " << grown_kib << " KiB";
  // The stuck client did get the start of the answer.
  EXPECT_TRUE(stuck.read_until(
      [](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; },
      Clock::now() + 2s));
  EXPECT_EQ(status_of(stuck.received()), 200);
}

// ---- the TLS port

TEST_F(ProxyHostileTlsTest, PlaintextAndGarbageOnTheTlsPortAreClosed) {
  for (const std::string& bytes :
       {std::string("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), std::string(4096, '\xff'),
        std::string("\x16\x03\x01\xff\xff", 5) + std::string(200, '\0'),
        std::string("\x16\x03\x03\x00\x05\x01\x00\x00\x01\x00", 10)}) {
    bool closed = false;
    const std::string answer = raw_exchange(tls_, bytes, 5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(answer.find("HTTP/1.1"), std::string::npos) << answer;
  }
  expect_served("/after-garbage");
  EXPECT_EQ(backend_.requests(), 2);
}

TEST_F(ProxyHostileTlsTest, TruncatedAndAbandonedHandshakesAreClosed) {
  const std::string hello = client_hello("a.example.com");
  ASSERT_GT(hello.size(), 100u);
  // Half a ClientHello, then the client closes its side: closed at once.
  RawClient truncated_then_eof(tls_);
  ASSERT_TRUE(truncated_then_eof.send(hello.substr(0, hello.size() / 2)));
  truncated_then_eof.shutdown_send();
  EXPECT_TRUE(truncated_then_eof.read_until_closed(3s));
  EXPECT_EQ(truncated_then_eof.received(), "");

  // Half a ClientHello and silence; a whole one and silence after the server's answer.
  const auto start = Clock::now();
  RawClient truncated(tls_);
  ASSERT_TRUE(truncated.send(hello.substr(0, hello.size() / 2)));
  RawClient abandoned(tls_);
  ASSERT_TRUE(abandoned.send(hello));
  EXPECT_TRUE(abandoned.read_until(
      [](const std::string& got) { return got.size() > 5 && got[0] == '\x16'; }, start + 3s));
  expect_served("/during-handshakes");
  EXPECT_TRUE(truncated.read_until_closed(6s));
  EXPECT_TRUE(abandoned.read_until_closed(6s));
  EXPECT_LT(Clock::now() - start, 4500ms);
  EXPECT_GE(Clock::now() - start, 1400ms);  // the handshake timeout, not an early give-up
  expect_served("/after-handshakes");
}

TEST_F(ProxyHostileTlsTest, HostileSniGetsTheFirstCertificate) {
  // Names no certificate has, built to look like something else; each still handshakes.
  for (const std::string& name :
       {std::string(250, 'x') + ".com", std::string("127.0.0.1"), std::string("*.example.com"),
        std::string("A.EXAMPLE.COM.evil")}) {
    SCOPED_TRACE(name);
    EXPECT_NE(served_subject(name).find("a.example.com"), std::string::npos);
  }
  EXPECT_NE(served_subject("b.example.com").find("b.example.com"), std::string::npos);
}

// ---- floods

TEST_F(ProxyHostileTlsTest, TenThousandDroppedConnectionsLeaveNothingBehind) {
  expect_served("/warm-up");  // the pools and the TLS context exist before counting
  const std::size_t fds_before = open_fd_count();
  const std::string hello = client_hello("b.example.com");
  constexpr int kBatches = 20;
  constexpr int kBatchSize = 500;
  for (int batch = 0; batch < kBatches; ++batch) {
    const bool tls = batch % 2 == 1;
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < kBatchSize; ++i) {
      auto client = std::make_unique<RawClient>(tls ? tls_ : plain_);
      ASSERT_TRUE(client->connected()) << "batch " << batch << " connection " << i;
      // A third say nothing, a third start a request or handshake, a third send garbage.
      if (i % 3 == 1) client->send(tls ? hello.substr(0, 40) : "GET /dropped HTTP/1.1\r\nHo");
      if (i % 3 == 2) client->send(std::string(64, '\x01'));
      clients.push_back(std::move(client));
    }
    // Each of them reached a session before it is dropped (the proxy closes TLS sessions that
    // sent garbage at once, so those may be gone already).
    const int expected = tls ? kBatchSize - kBatchSize / 3 : kBatchSize;
    ASSERT_TRUE(poll_until([&] { return proxy_.metrics().active_connections() >= expected; }, 10s))
        << "batch " << batch << ": " << proxy_.metrics().active_connections() << " sessions";
    // Mostly by RST (no TIME_WAIT piles up on the machine), every tenth gracefully.
    for (int i = 0; i < kBatchSize; ++i) clients[i]->drop(i % 10 != 0);
  }
  EXPECT_TRUE(poll_until([&] { return proxy_.metrics().active_connections() == 0; }, 20s))
      << proxy_.metrics().active_connections() << " sessions left";
  EXPECT_TRUE(poll_until([&] { return open_fd_count() <= fds_before + 4; }, 20s))
      << "open fds: before " << fds_before << ", now " << open_fd_count();
  expect_served("/after-flood");
  EXPECT_EQ(backend_.requests_for("/dropped"), 0);
}

}  // namespace
}  // namespace albemu::testing
