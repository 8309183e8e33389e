// Hostile HTTP/1.1 framing on the plain port, over raw sockets: request smuggling (RFC 9112
// 6.1 and 6.3), malformed lines and fields, request-target forms, Host validation, and the
// headers GCP's proxy owns. Each case checks the status, whether the connection closes and
// what (if anything) the backend saw.
//
// Status decisions (Envoy's defaults, which GCP's proxy inherits, unless the RFC says more):
// - framing the proxy cannot trust (CL with TE, TE other than a final `chunked`, conflicting
//   CL, bad chunk framing, obs-fold, bare CR/LF, NUL, whitespace before the colon, bad tokens,
//   missing/duplicate/invalid Host): 400 and close.
// - a request line longer than the 60 KiB head limit: 431, as Envoy counts the request line
//   in max_request_headers_kb (GCP documents no URL limit).
// - CONNECT: 404 and close, as Envoy answers a CONNECT no route's connect_matcher takes (GCP
//   URL maps have none); nothing is tunnelled and no backend is contacted.
// - HTTP/2.0, HTTP/1.2 and HTTP/0.9 request lines: 400 (Beast's bad_version).
// - Transfer-Encoding with any coding besides a lone `chunked` (`gzip, chunked` included):
//   400, one answer for every framing albemu will not relay (RFC 9112 6.1 would also allow
//   501 for a coding the server does not know).
// - identical duplicate Content-Length: one length (RFC 9110 8.6 allows it), forwarded once.
// - OPTIONS * goes to the default service; unknown but valid token methods are proxied.

#include <gtest/gtest.h>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/raw_client.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;

/// What the proxy answered on one connection.
struct Answer {
  std::string bytes;
  bool closed = false;
  int status = 0;  // of the first response, 0 if none
};

class ProxyHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string yaml = basic_config(R"(
cloudRunServices:
  - name: app
    url: )" + app_.url() + R"(
  - name: other
    url: )" + other_.url() + R"(
  - name: echo
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
  - name: other-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: other
  - name: echo-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: echo
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: app-neg
  - name: other-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: other-neg
  - name: echo-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: echo-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
    hostRules:
      - hosts: ["routed.example"]
        pathMatcher: other
      - hosts: ["standin.example"]
        pathMatcher: echo
    pathMatchers:
      - name: other
        defaultService: other-bs
      - name: echo
        defaultService: echo-bs
)");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
  }

  /// Sends `bytes` on a fresh connection; reads until the proxy closes or 5 s pass.
  Answer send(const std::string& bytes, std::chrono::milliseconds deadline = 5s) {
    Answer answer;
    answer.bytes = raw_exchange(proxy_.port("http-rule"), bytes, deadline, &answer.closed);
    answer.status = status_of(answer.bytes);
    return answer;
  }

  /// `bytes` must be refused with `status` and a closed connection, the backend seeing nothing.
  void expect_rejected(const std::string& bytes, int status = 400) {
    const Answer answer = send(bytes);
    EXPECT_EQ(answer.status, status) << answer.bytes;
    EXPECT_TRUE(answer.closed) << "connection left open after " << answer.status;
    EXPECT_EQ(count_of(answer.bytes, "HTTP/1."), 1) << answer.bytes;
    EXPECT_EQ(app_.requests() + other_.requests(), 0) << app_.last_request();
  }

  TestBackend app_{"app"};
  TestBackend other_{"other"};
  ProxyHarness proxy_{1, 2000ms};
};

// ---- request smuggling

TEST_F(ProxyHostileTest, ContentLengthWithTransferEncodingIs400) {
  // Either order: a front end trusting one and a back end the other would split differently.
  const std::string smuggled = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
  expect_rejected(
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(smuggled.size()) +
      "\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled);
  expect_rejected("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: " +
                  std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(app_.requests_for("/smuggled"), 0);
}

TEST_F(ProxyHostileTest, DuplicateIdenticalContentLengthIsOneLength) {
  // RFC 9110 8.6 lets a recipient accept identical values as one; the backend gets one field.
  const Answer answer = send(
      "POST /dup HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
      "Connection: close\r\n\r\nhello");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_TRUE(answer.closed);
  EXPECT_EQ(app_.requests_for("/dup"), 1);
  const std::string seen = app_.last_request();
  EXPECT_NE(seen.find("body-bytes: 5"), std::string::npos) << seen;
  EXPECT_EQ(count_of(seen, "Content-Length"), 1) << seen;
}

TEST_F(ProxyHostileTest, ConflictingContentLengthIs400) {
  expect_rejected(
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
      "hello!");
  expect_rejected("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!");
  expect_rejected("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\nhello");
  expect_rejected("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello");
}

TEST_F(ProxyHostileTest, TransferEncodingOtherThanFinalChunkedIs400) {
  // RFC 9112 6.3: a request whose final coding is not chunked has no reliable length. The
  // bytes after the head would otherwise be read as a second request.
  const std::string body = "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
  for (const char* coding : {"chunked, gzip", "gzip", "identity", "gzip, chunked",
                             "chunked, chunked", "chunked;q=1", "xchunked"}) {
    SCOPED_TRACE(coding);
    expect_rejected(std::string("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + coding +
                    "\r\n\r\n" + body);
  }
  // Two fields: the second hides a coding after chunked.
  expect_rejected(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: gzip\r\n\r\n" +
      body);
  EXPECT_EQ(app_.requests_for("/smuggled"), 0);
}

TEST_F(ProxyHostileTest, BadChunkFramingIs400AndNeverCompletesARequest) {
  const std::string head = "POST /chunks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string body : {"zz\r\nhello\r\n0\r\n\r\n",                   // not hex
                                 "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",  // overflows
                                 "5\r\nhelloXX0\r\n\r\n",                      // no CRLF after data
                                 "5\nhello\n0\n\n",                            // bare LF
                                 "\r\nhello\r\n0\r\n\r\n"}) {                  // no size
    SCOPED_TRACE(body);
    const Answer answer = send(head + body);
    EXPECT_EQ(answer.status, 400) << answer.bytes;
    EXPECT_TRUE(answer.closed);
  }
  // The broken framing came with the head: it is refused before the service sees anything.
  EXPECT_EQ(app_.requests_for("/chunks"), 0);
  EXPECT_EQ(app_.connections(), 0);
  // The backend connections that carried half a body are not reused for the next request.
  const Answer after = send("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(after.status, 200) << after.bytes;
  EXPECT_EQ(app_.requests_for("/after"), 1);
}

TEST_F(ProxyHostileTest, ChunkExtensionsAreAcceptedAndDropped) {
  const Answer answer = send(
      "POST /ext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5;name=value\r\nhello\r\n6;quoted=\"a;b\";flag\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_TRUE(answer.closed);
  EXPECT_EQ(app_.requests_for("/ext"), 1);
  EXPECT_NE(app_.last_request().find("body-bytes: 11"), std::string::npos) << app_.last_request();
}

TEST_F(ProxyHostileTest, RequestHiddenInABodyStaysBody) {
  const std::string hidden = "GET /hidden HTTP/1.1\r\nHost: a\r\n\r\n";
  Answer answer =
      send("POST /outer HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(hidden.size()) +
           "\r\n\r\n" + hidden + "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(answer.bytes, "HTTP/1.1 200"), 2) << answer.bytes;
  EXPECT_TRUE(answer.closed);
  EXPECT_NE(answer.bytes.find("body-bytes: " + std::to_string(hidden.size())), std::string::npos);

  std::string chunk_size(16, '\0');
  chunk_size.resize(std::snprintf(chunk_size.data(), chunk_size.size(), "%zx", hidden.size()));
  answer = send(
      "POST /outer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n" +
      chunk_size + "\r\n" + hidden + "\r\n0\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_EQ(app_.requests_for("/outer"), 2);
  EXPECT_EQ(app_.requests_for("/after"), 1);
  EXPECT_EQ(app_.requests_for("/hidden"), 0);
  EXPECT_EQ(app_.requests(), 3);
}

// ---- lines and fields

TEST_F(ProxyHostileTest, ObsFoldIs400) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n");
}

TEST_F(ProxyHostileTest, BareCrAndBareLfAre400) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nX-A: one\rX-B: two\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\nHost: a\n\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\n\n");
}

TEST_F(ProxyHostileTest, NulInAHeaderIs400) {
  expect_rejected(std::string("GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 36));
  expect_rejected(std::string("GET /x HTTP/1.1\r\nHost: a\r\nX-\0A: b\r\n\r\n", 35));
  expect_rejected(std::string("GET /x\0 HTTP/1.1\r\nHost: a\r\n\r\n", 30));
}

TEST_F(ProxyHostileTest, WhitespaceBeforeTheColonIs400) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost : a\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\n Host: a\r\n\r\n");
}

TEST_F(ProxyHostileTest, OversizedRequestLineIs431) {
  expect_rejected("GET /" + std::string(64 * 1024, 'u') + " HTTP/1.1\r\nHost: a\r\n\r\n", 431);
  expect_rejected(std::string(64 * 1024, 'G') + " / HTTP/1.1\r\nHost: a\r\n\r\n", 431);
}

TEST_F(ProxyHostileTest, LongUrlUnderTheLimitIsProxied) {
  // To the built-in stand-in, which echoes the target (the test backend's own head limit is
  // 8 KiB).
  const std::string path = "/" + std::string(48 * 1024, 'u');
  const Answer answer =
      send("GET " + path + " HTTP/1.1\r\nHost: standin.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes.substr(0, 200);
  EXPECT_NE(answer.bytes.find(path), std::string::npos);
}

TEST_F(ProxyHostileTest, MethodsMustBeTokens) {
  for (const char* method : {"G@T", "GE(T", "GET/", "\"GET\"",
                             "G\x7f"
                             "T"}) {
    SCOPED_TRACE(method);
    expect_rejected(std::string(method) + " /x HTTP/1.1\r\nHost: a\r\n\r\n");
  }
  expect_rejected(" /x HTTP/1.1\r\nHost: a\r\n\r\n");
  expect_rejected("GET  /x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST_F(ProxyHostileTest, UnknownTokenMethodsAreProxied) {
  const Answer answer = send("FROB-NICATE! /m HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_EQ(app_.requests_for("/m"), 1);
  EXPECT_EQ(app_.last_request().rfind("FROB-NICATE! /m\n", 0), 0u) << app_.last_request();
}

TEST_F(ProxyHostileTest, UnsupportedVersionsAre400) {
  expect_rejected("GET /x HTTP/2.0\r\nHost: a\r\n\r\n");
  expect_rejected("GET /x HTTP/1.2\r\nHost: a\r\n\r\n");
  expect_rejected("GET /x HTTP/0.9\r\nHost: a\r\n\r\n");
  expect_rejected("GET /x\r\n\r\n");  // HTTP/0.9's simple request
  expect_rejected("GET /x HTTP/1.10\r\nHost: a\r\n\r\n");
  expect_rejected("GET /x http/1.1\r\nHost: a\r\n\r\n");
}

// ---- request targets

TEST_F(ProxyHostileTest, AbsoluteFormIsRoutedOnItsAuthority) {
  // RFC 9112 3.2.2: the authority of an absolute-form target replaces Host. The backend gets
  // origin-form and the new Host.
  const Answer answer = send(
      "GET http://routed.example/abs/path?q=1 HTTP/1.1\r\nHost: ignored.example\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_EQ(app_.requests(), 0);
  ASSERT_EQ(other_.requests_for("/abs/path"), 1);
  const std::string seen = other_.last_request();
  EXPECT_EQ(seen.rfind("GET /abs/path?q=1\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Host: routed.example\n"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("ignored.example"), std::string::npos) << seen;

  // No path: "/"; the scheme's case does not matter; no Host field at all is fine here.
  const Answer bare = send("GET HTTP://routed.example HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(bare.status, 200) << bare.bytes;
  EXPECT_EQ(other_.requests_for("/"), 1);
}

TEST_F(ProxyHostileTest, AbsoluteFormWithABadAuthorityIs400) {
  expect_rejected("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n");
  expect_rejected("GET http://a b/x HTTP/1.1\r\nHost: a\r\n\r\n");
  expect_rejected("GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n");
  expect_rejected("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST_F(ProxyHostileTest, ConnectIsNeverTunnelled) {
  expect_rejected(
      "CONNECT routed.example:443 HTTP/1.1\r\nHost: routed.example:443\r\n\r\n"
      "\x16\x03\x01",
      404);
}

TEST_F(ProxyHostileTest, OptionsAsteriskReachesTheDefaultService) {
  const Answer answer = send("OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_EQ(app_.requests_for("*"), 1);
  EXPECT_EQ(app_.last_request().rfind("OPTIONS *\n", 0), 0u) << app_.last_request();
  // Asterisk-form belongs to OPTIONS only; a target must be origin, absolute or asterisk form.
  for (const char* line : {"GET * HTTP/1.1", "GET x/y HTTP/1.1", "GET ?q HTTP/1.1"}) {
    SCOPED_TRACE(line);
    const Answer rejected = send(std::string(line) + "\r\nHost: a\r\n\r\n");
    EXPECT_EQ(rejected.status, 400) << rejected.bytes;
    EXPECT_TRUE(rejected.closed);
  }
  EXPECT_EQ(app_.requests(), 1);
}

// ---- Host

TEST_F(ProxyHostileTest, Http11WithoutHostIs400) {
  expect_rejected("GET /x HTTP/1.1\r\nX-A: b\r\n\r\n");
  // HTTP/1.0 had no Host requirement.
  const Answer answer = send("GET /old HTTP/1.0\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_EQ(app_.requests_for("/old"), 1);
}

TEST_F(ProxyHostileTest, DuplicateHostIs400) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nHost: routed.example\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n");
  expect_rejected("GET /x HTTP/1.1\r\nHost: a, routed.example\r\n\r\n");
}

TEST_F(ProxyHostileTest, HostWithBadCharactersIs400) {
  for (const char* host : {"a b", "a/b", "a\\b", "a\"b", "a<b>", "user@a", "a?b", "a#b", "a{b}"}) {
    SCOPED_TRACE(host);
    expect_rejected(std::string("GET /x HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
  }
  // What is allowed: names, ports, IPv6 literals, an empty value (RFC 9112 3.2).
  for (const char* host : {"routed.example:8080", "[::1]:80", "10.0.0.1", "a_b.example", ""}) {
    SCOPED_TRACE(host);
    const Answer answer =
        send(std::string("GET /ok HTTP/1.1\r\nHost: ") + host + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer.status, 200) << answer.bytes;
  }
}

// ---- headers the proxy owns (spec sections 0 and 7)

TEST_F(ProxyHostileTest, ClientXForwardedProtoIsOverwritten) {
  const Answer answer = send(
      "GET /proto HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nx-forwarded-proto: wss\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  const std::string seen = app_.last_request();
  EXPECT_EQ(count_of(seen, "X-Forwarded-Proto: http\n"), 1) << seen;
  EXPECT_EQ(count_of(seen, "https"), 0) << seen;
  EXPECT_EQ(count_of(seen, "wss"), 0) << seen;
}

TEST_F(ProxyHostileTest, ClientViaAndXForwardedForAreKeptInFront) {
  const Answer answer = send(
      "GET /chain HTTP/1.1\r\nHost: a\r\nVia: 1.0 corp-proxy\r\n"
      "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  const std::string seen = app_.last_request();
  EXPECT_NE(seen.find("Via: 1.0 corp-proxy, 1.1 google\n"), std::string::npos) << seen;
  EXPECT_EQ(count_of(seen, "Via:"), 1) << seen;
  // Appended, not replaced: the supplied values stay first, unverified.
  EXPECT_NE(seen.find("X-Forwarded-For: 203.0.113.9,198.51.100.1,127.0.0.1,127.0.0.1\n"),
            std::string::npos)
      << seen;
  EXPECT_EQ(count_of(seen, "X-Forwarded-For:"), 1) << seen;
  // The response gets the proxy's Via too.
  EXPECT_NE(answer.bytes.find("Via: 1.1 google\r\n"), std::string::npos) << answer.bytes;
}

TEST_F(ProxyHostileTest, HopByHopHeadersNeverReachTheBackend) {
  const Answer answer = send(
      "GET /hop HTTP/1.1\r\nHost: a\r\n"
      "Connection: keep-alive, X-Secret, x-forwarded-for, Host, close\r\n"
      "X-Secret: s3\r\nKeep-Alive: timeout=999\r\nTE: trailers\r\nTrailer: x-t\r\n"
      "Trailers: x-t\r\nProxy-Authorization: Basic Zm9v\r\nProxy-Connection: keep-alive\r\n"
      "Upgrade: h2c\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
  EXPECT_EQ(answer.status, 200) << answer.bytes;
  EXPECT_TRUE(answer.closed);
  const std::string seen = app_.last_request();
  for (const char* name : {"X-Secret", "Keep-Alive", "TE:", "Trailer", "Proxy-", "Upgrade",
                           "Connection", "s3", "999", "h2c"}) {
    EXPECT_EQ(seen.find(name), std::string::npos) << name << " in\n" << seen;
  }
  // Naming X-Forwarded-For or Host in Connection drops the client's value at most: the
  // proxy's own additions and the Host stay.
  EXPECT_NE(seen.find("X-Forwarded-For: 127.0.0.1,127.0.0.1\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Host: a\n"), std::string::npos) << seen;
}

}  // namespace
}  // namespace albemu::testing
