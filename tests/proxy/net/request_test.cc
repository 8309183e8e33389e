// The request's phases and the upstream exchange, run without sockets: a fake client stream
// (tests/proxy/net/fake_request.h) and fake backends. Routing, local answers, the stand-in,
// retries, early answers, client aborts, malformed bodies, timeouts and responses cut short.

#include "proxy/net/request.h"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>

#include "tests/proxy/net/fake_request.h"

namespace albemu::net::testing {
namespace {

using namespace std::chrono_literals;
using Answer = UpstreamScript::Answer;

constexpr std::string_view kConfig = R"yaml(
project: p
region: r
cloudRunServices:
  - name: app
    url: http://app.internal:8080
  - name: echo
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun: {service: app}
  - name: echo-neg
    networkEndpointType: SERVERLESS
    cloudRun: {service: echo}
  - name: mask-neg
    networkEndpointType: SERVERLESS
    cloudRun: {urlMask: /<service>}
backendServices:
  - name: app
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: app-neg}]
  - name: echo
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: echo-neg}]
  - name: mask
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: mask-neg}]
urlMaps:
  - name: map
    defaultService: app
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: app
        routeRules:
          - priority: 1
            matchRules: [{prefixMatch: /moved/}]
            urlRedirect: {pathRedirect: /new, redirectResponseCode: FOUND}
          - priority: 2
            matchRules: [{prefixMatch: /masked/}]
            service: mask
          - priority: 3
            matchRules: [{prefixMatch: /echo/}]
            service: echo
          - priority: 4
            matchRules: [{prefixMatch: /abort/}]
            service: app
            routeAction:
              faultInjectionPolicy:
                abort: {httpStatus: 418, percentage: 100}
          - priority: 5
            matchRules: [{prefixMatch: /retry/}]
            service: app
            routeAction:
              retryPolicy: {retryConditions: [5xx, connect-failure], numRetries: 2}
          - priority: 6
            matchRules: [{prefixMatch: /quick/}]
            service: app
            routeAction:
              timeout: {seconds: 0, nanos: 200000000}
          - priority: 7
            matchRules: [{prefixMatch: /per-try/}]
            service: app
            routeAction:
              retryPolicy:
                retryConditions: [5xx]
                numRetries: 1
                perTryTimeout: {seconds: 0, nanos: 150000000}
targetHttpProxies:
  - name: proxy
    urlMap: map
forwardingRules:
  - name: http-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 10.1.2.99
    portRange: "80"
    target: proxy
)yaml";

std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: shop.example\r\n\r\n";
}
std::string post(std::string_view path, std::size_t length) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: shop.example\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

class RequestTest : public ::testing::Test {
 protected:
  RequestRun run_{kConfig};
};

// ---- the phases and albemu's own answers

TEST_F(RequestTest, RedirectIsAnsweredLocallyWithADate) {
  auto client = run_.client();
  client->start(get("/moved/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 302u);
  EXPECT_NE(client->head().find("Location: http://shop.example/new\r\n"), std::string::npos)
      << client->head();
  EXPECT_NE(client->head().find("Date: "), std::string::npos) << client->head();
  EXPECT_NE(client->head().find("Content-Length: 0\r\n"), std::string::npos) << client->head();
  EXPECT_TRUE(client->ended());
  EXPECT_EQ(client->context().log.status, 302);
  EXPECT_EQ(run_.backends().connects, 0);
  EXPECT_EQ(run_.worker().requests_in_flight.load(), 0u);
}

// An HTTP/1 connection borrows its request from the worker for each request: given back, the
// same storage serves the next stream it is lent to.
TEST_F(RequestTest, AWorkersRequestIsLentAgainToAnotherStream) {
  auto first = run_.client();
  auto second = run_.client();
  auto request = run_.worker().take_request(*first);
  EXPECT_EQ(&request->stream(), first.get());
  EXPECT_FALSE(request->active());
  const Request* lent = request.get();
  // A spare pins no generation: a reload's old snapshot is freed even if it waits long.
  request->context().generation = run_.worker().generation();
  ASSERT_NE(request->context().generation, nullptr);
  run_.worker().give_back_request(std::move(request));
  auto again = run_.worker().take_request(*second);
  EXPECT_EQ(again.get(), lent);
  EXPECT_EQ(&again->stream(), second.get());
  EXPECT_EQ(again->context().generation, nullptr);
  run_.worker().give_back_request(std::move(again));
}

TEST_F(RequestTest, UnknownServiceIs503WithoutABackend) {
  auto client = run_.client();
  client->start(get("/masked/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 503u);
  EXPECT_EQ(client->body(), "no healthy upstream");
  EXPECT_EQ(client->context().log.status_details, "failed_to_pick_backend");
}

TEST_F(RequestTest, GrpcRequestGetsItsErrorsInGrpcForm) {
  // No service for the mask (503 -> UNAVAILABLE) and a fault abort (418 -> UNKNOWN): 200 with
  // the status in grpc-status, the reason in grpc-message, and no body.
  const auto grpc_post = [](std::string_view path) {
    return "POST " + std::string(path) +
           " HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/grpc\r\n"
           "TE: trailers\r\n\r\n";
  };
  auto unknown = run_.client();
  unknown->start(grpc_post("/masked/pkg.Service/Call"));
  ASSERT_TRUE(run_.run_until([&] { return unknown->done(); }));
  EXPECT_EQ(unknown->status(), 200u);
  EXPECT_NE(unknown->head().find("Content-Type: application/grpc\r\n"), std::string::npos)
      << unknown->head();
  EXPECT_NE(unknown->head().find("grpc-status: 14\r\n"), std::string::npos) << unknown->head();
  EXPECT_NE(unknown->head().find("grpc-message: no healthy upstream\r\n"), std::string::npos)
      << unknown->head();
  EXPECT_EQ(unknown->body(), "");
  EXPECT_EQ(unknown->context().log.status_details, "failed_to_pick_backend");

  auto aborted = run_.client();
  aborted->start(grpc_post("/abort/pkg.Service/Call"));
  ASSERT_TRUE(run_.run_until([&] { return aborted->done(); }));
  EXPECT_EQ(aborted->status(), 200u);
  EXPECT_NE(aborted->head().find("grpc-status: 2\r\n"), std::string::npos) << aborted->head();
  EXPECT_EQ(run_.backends().connects, 0);
}

TEST_F(RequestTest, FaultAbortAnswersTheConfiguredStatus) {
  auto client = run_.client();
  client->start(get("/abort/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 418u);
  EXPECT_EQ(run_.backends().connects, 0);
}

TEST_F(RequestTest, StandInCountsTheBodyAndEchoesTheUpstreamHead) {
  auto client = run_.client();
  client->start(post("/echo/upload", 11), 11, true);
  client->add_body("hello ", false);
  client->add_body("world", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_NE(client->body().find(R"("bodyLength":11)"), std::string::npos) << client->body();
  // The echo shows what a backend would get: the load balancer's fields added.
  EXPECT_NE(client->body().find(R"("x-forwarded-for":["10.0.0.7,10.1.2.99"])"), std::string::npos)
      << client->body();
}

TEST_F(RequestTest, HeadAnswerHasTheLengthAndNoBody) {
  auto client = run_.client();
  client->start("HEAD /masked/x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 503u);
  EXPECT_NE(client->head().find("Content-Length: 19\r\n"), std::string::npos) << client->head();
  EXPECT_EQ(client->body(), "");
}

// ---- the exchange

TEST_F(RequestTest, ResponseIsRelayedAndTheConnectionReleased) {
  run_.add_backend({.fields = {{"Content-Length", "10"}}, .body = {"01234", "56789"}});
  auto client = run_.client();
  client->start(get("/x?q=1"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "0123456789");
  EXPECT_TRUE(client->ended());
  const auto& backend = *run_.backends().upstreams()[0];
  EXPECT_EQ(backend.request_head.rfind("GET /x?q=1 HTTP/1.1\r\n", 0), 0u) << backend.request_head;
  EXPECT_NE(backend.request_head.find("Via: 1.1 google\r\n"), std::string::npos);
  EXPECT_TRUE(backend.pooled);
  EXPECT_EQ(client->context().log.status_details, "response_sent_by_backend");
  EXPECT_EQ(client->context().log.server_ip, "app.internal:8080");
  EXPECT_EQ(client->context().log.response_size, 10u);
}

TEST_F(RequestTest, RequestBodyIsRelayedPieceByPiece) {
  run_.add_backend({});
  auto client = run_.client();
  client->start(post("/upload", 9), 9, true);
  client->add_body("abc", false);
  ASSERT_TRUE(run_.run_until([&] { return client->read_pending(); }));
  EXPECT_EQ(run_.backends().upstreams()[0]->request_body, "abc");
  client->add_body("defghi", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(run_.backends().upstreams()[0]->request_body, "abcdefghi");
  EXPECT_TRUE(run_.backends().upstreams()[0]->request_ended);
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->context().log.request_size, post("/upload", 9).size() + 9);
}

TEST_F(RequestTest, RetriesA5xxUnderTheRetryPolicy) {
  run_.add_backend({.status = 503});
  run_.add_backend({.connect_fails = true});
  run_.add_backend({.body = {"third time"}});
  auto client = run_.client();
  client->start(get("/retry/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "third time");
  EXPECT_EQ(run_.backends().connects, 3);
}

TEST_F(RequestTest, WithoutARetryPolicyA5xxGoesToTheClient) {
  run_.add_backend({.status = 503, .body = {"busy"}});
  auto client = run_.client();
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 503u);
  EXPECT_EQ(client->body(), "busy");
  EXPECT_EQ(run_.backends().connects, 1);
}

TEST_F(RequestTest, BodyOfUnknownLengthIsSentAsItComesAndReplayedOnceWhole) {
  run_.add_backend({.status = 503});
  run_.add_backend({.body = {"second time"}});
  auto client = run_.client();
  client->start(
      "POST /retry/up HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n",
      std::nullopt, true);
  client->add_body("abc", false);
  // The first piece goes out before the body has ended: a streaming call is not held back.
  ASSERT_TRUE(run_.run_until([&] { return client->read_pending(); }));
  EXPECT_EQ(run_.backends().upstreams()[0]->request_body, "abc");
  client->add_body("def", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "second time");
  ASSERT_EQ(run_.backends().upstreams().size(), 2u);
  EXPECT_EQ(run_.backends().upstreams()[1]->request_body, "abcdef");
  EXPECT_TRUE(run_.backends().upstreams()[1]->request_ended);
}

TEST_F(RequestTest, RetriesStopAtTheirNumber) {
  for (int i = 0; i < 3; ++i) run_.add_backend({.status = 502});
  auto client = run_.client();
  client->start(get("/retry/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 502u);
  EXPECT_EQ(run_.backends().connects, 3);  // the first attempt and two retries
}

TEST_F(RequestTest, RefusedConnectionIs502) {
  run_.add_backend({.connect_fails = true});
  auto client = run_.client();
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 502u);
  EXPECT_EQ(client->context().log.status_details, "failed_to_connect_to_backend");
}

TEST_F(RequestTest, GetOnAKeptConnectionClosedWhileIdleGoesAgainOnAFreshOne) {
  run_.add_backend({.idle = true, .answer = Answer::kClose});
  run_.add_backend({.body = {"fresh"}});
  auto client = run_.client();
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "fresh");
  EXPECT_EQ(run_.backends().connects, 1);
}

TEST_F(RequestTest, PostIsNotSentAgainWhenAKeptConnectionDiesAfterIt) {
  run_.add_backend({.idle = true, .answer = Answer::kClose});
  run_.add_backend({});
  auto client = run_.client();
  client->start(post("/x", 2), 2, true);
  client->add_body("hi", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 502u);
  EXPECT_EQ(run_.backends().connects, 0);
  EXPECT_EQ(client->context().log.status_details,
            "backend_connection_closed_before_data_sent_to_client");
}

TEST_F(RequestTest, PostWhoseHeadFoundAKeptConnectionDeadGoesAgain) {
  // Nothing of it reached the backend: sending it again cannot act twice.
  run_.add_backend({.idle = true, .head_write_fails = true});
  run_.add_backend({});
  auto client = run_.client();
  client->start(post("/x", 2), 2, true);
  client->add_body("hi", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(run_.backends().upstreams()[1]->request_body, "hi");
}

// ---- early answers

TEST_F(RequestTest, EarlyAnswerGoesOnWhileTheClientHoldsItsBody) {
  // The backend answers after the head; the client sends nothing more until it sees the
  // answer. The answer must not wait for a body that would never come.
  run_.add_backend({.answer = Answer::kEarly, .status = 413, .body = {"too big"}});
  auto client = run_.client();
  client->start(post("/upload", 1000), 1000, true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 413u);
  EXPECT_EQ(client->body(), "too big");
  EXPECT_TRUE(client->read_pending()) << "the body read stays with the connection";
  EXPECT_FALSE(run_.backends().upstreams()[0]->request_ended);
  EXPECT_FALSE(run_.backends().upstreams()[0]->pooled) << "half a request: not reusable";
  EXPECT_EQ(client->context().log.status_details, "response_sent_by_backend");
}

TEST_F(RequestTest, EarlySuccessWhileABodyWriteIsStuckEndsTheWrite) {
  run_.add_backend({.body_write_stalls = true, .answer = Answer::kEarly, .body = {"ok"}});
  auto client = run_.client();
  client->start(post("/upload", 4), 4, true);
  client->add_body("data", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "ok");
  EXPECT_EQ(client->context().log.status_details, "backend_early_response_with_non_error_status");
}

// ---- the client

TEST_F(RequestTest, ClientLeavingMidUploadEndsTheExchange) {
  run_.add_backend({.answer = Answer::kNever});
  auto client = run_.client();
  client->start(post("/upload", 100), 100, true);
  client->add_body("part", false);
  ASSERT_TRUE(run_.run_until([&] { return client->read_pending(); }));
  client->fail_body(boost::asio::error::connection_reset);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 0u);
  EXPECT_TRUE(client->was_reset());
  EXPECT_EQ(client->context().log.status_details, "client_disconnected_before_any_response");
  EXPECT_TRUE(run_.backends().upstreams()[0]->interrupted);
}

TEST_F(RequestTest, MalformedBodyIs400BeforeAnyAnswer) {
  run_.add_backend({.answer = Answer::kNever});
  auto client = run_.client();
  client->start("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                std::nullopt, true);
  client->fail_body(boost::beast::http::error::bad_chunk);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 400u);
  EXPECT_FALSE(client->context().client_keep_alive);
}

TEST_F(RequestTest, ClientLeavingMidResponseIsLogged) {
  run_.add_backend({.body = {"one", "two"}});
  auto client = run_.client();
  client->fail_writes = true;
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_TRUE(client->was_reset());
  EXPECT_EQ(client->context().log.status, 200);
  EXPECT_EQ(client->context().log.response_size, 0u);
}

// ---- timeouts and failures mid-response

TEST_F(RequestTest, RouteTimeoutIs504) {
  run_.add_backend({.answer = Answer::kNever});
  auto client = run_.client();
  const auto start = std::chrono::steady_clock::now();
  client->start(get("/quick/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(client->status(), 504u);
  EXPECT_EQ(client->body(), "upstream request timeout");
  EXPECT_TRUE(run_.backends().upstreams()[0]->interrupted);
}

TEST_F(RequestTest, PerTryTimeoutMovesToTheNextAttempt) {
  run_.add_backend({.answer = Answer::kNever});
  run_.add_backend({.body = {"second"}});
  auto client = run_.client();
  client->start(get("/per-try/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "second");
}

TEST_F(RequestTest, BackendFailingMidBodyResetsTheClient) {
  run_.add_backend({.body = {"first piece", "never"}, .body_fails = true});
  auto client = run_.client();
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(client->body(), "first piece");
  EXPECT_FALSE(client->ended());
  EXPECT_TRUE(client->was_reset());
  EXPECT_EQ(client->context().log.status_details,
            "backend_connection_closed_after_partial_response_sent");
}

// ---- WebSocket upgrades

std::string upgrade(std::string_view extra = "") {
  return "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
         std::string(extra) + "\r\n";
}

/// A WebSocket upgrade that the backend answers with 101: once it returns, the client end of
/// the tunnel is reading ("frame" each time).
std::shared_ptr<FakeStream> start_tunnel(RequestRun& run) {
  run.add_backend({.status = 101, .fields = {{"Connection", "Upgrade"}, {"Upgrade", "websocket"}}});
  auto client = run.client();
  client->tunnel_bytes = "frame";
  client->start(upgrade());
  EXPECT_TRUE(run.run_until([&] { return client->tunnel_reads > 0; }));
  return client;
}

TEST_F(RequestTest, UpgradeAnsweredWith101BecomesATunnel) {
  auto client = start_tunnel(run_);
  ASSERT_GT(client->tunnel_reads, 0);
  EXPECT_EQ(client->status(), 101u);
  EXPECT_NE(client->head().find("Upgrade: websocket\r\n"), std::string::npos) << client->head();
  EXPECT_NE(run_.backends().upstreams()[0]->request_head.find("Upgrade: websocket\r\n"),
            std::string::npos);
  client->request().abort();
  run_.settle();
  EXPECT_TRUE(client->done());
}

TEST_F(RequestTest, StreamClosingUnderATunnelWithDataQueuedEndsIt) {
  // The client's bytes were read, their handler queued, when the connection is closed under
  // the tunnel (a drain, say): that handler must find the tunnel ended, not relay them.
  auto client = start_tunnel(run_);
  ASSERT_GT(client->tunnel_reads, 0);
  client->request().abort();
  run_.settle();
  EXPECT_TRUE(client->done());
  EXPECT_TRUE(client->was_reset());
  EXPECT_EQ(run_.worker().requests_in_flight.load(), 0u);
}

TEST_F(RequestTest, UpgradeWithABodyIsAPlainRequest) {
  // The stream cannot turn into a tunnel while a body still arrives: the upgrade fields do not
  // reach the backend, and its answer is an answer.
  run_.add_backend({.body = {"plain"}});
  auto client = run_.client();
  client->start(upgrade("Content-Length: 4\r\n"), 4, true);
  client->add_body("data", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(run_.backends().upstreams()[0]->request_head.find("Upgrade:"), std::string::npos)
      << run_.backends().upstreams()[0]->request_head;
  EXPECT_FALSE(client->context().websocket);
}

// ---- the route timeout starts once the request was received whole

TEST_F(RequestTest, ASlowUploadIsNotTimedOutWhileTheClientSendsIt) {
  run_.add_backend({});
  auto client = run_.client();
  client->start(post("/quick/upload", 6), 6, true);  // a 200 ms route timeout
  client->add_body("abc", false);
  // The client pauses longer than the route timeout before its next piece.
  EXPECT_FALSE(run_.run_until([&] { return client->done(); }, 400ms));
  client->add_body("def", true);
  ASSERT_TRUE(run_.run_until([&] { return client->done(); }));
  EXPECT_EQ(client->status(), 200u);
  EXPECT_EQ(run_.backends().upstreams()[0]->request_body, "abcdef");
}

TEST_F(RequestTest, AbortFromTheStreamEndsARequestInFlight) {
  run_.add_backend({.answer = Answer::kNever});
  auto client = run_.client();
  client->start(get("/x"));
  ASSERT_TRUE(run_.run_until([&] { return run_.backends().upstreams()[0]->request_ended; }));
  client->request().abort();
  EXPECT_TRUE(client->done());
  EXPECT_TRUE(client->was_reset());
  run_.settle();
  EXPECT_EQ(run_.worker().requests_in_flight.load(), 0u);
  EXPECT_EQ(client->status(), 0u) << "nothing is written after the abort";
}

}  // namespace
}  // namespace albemu::net::testing
