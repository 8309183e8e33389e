// HTTP/2 from clients over TLS (ALPN h2), with curl as the client: each stream runs the same
// phases as an HTTP/1 request (routing by :authority, header actions, local answers, logs),
// bodies are streamed both ways, and a client that offers only HTTP/1.1 still gets it.

#include <gtest/gtest.h>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {
namespace {

class ProxyHttp2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cert = generate_self_signed("h2.example.com", {"h2.example.com"});
    // A second host goes to the built-in stand-in: the host rule reads :authority.
    const std::string yaml = std::string("project: it-project\nregion: us-central1\n") + R"(
cloudRunServices:
  - name: app
    url: )" + backend_.url() +
                             R"(
  - name: standin
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
  - name: standin-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: standin
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: app-neg
  - name: standin-bs
    loadBalancingScheme: INTERNAL_MANAGED
    logConfig: {enable: true}
    protocol: HTTP
    backends:
      - group: standin-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
    hostRules:
      - hosts: ["standin.example.com"]
        pathMatcher: standin
    pathMatchers:
      - name: standin
        defaultService: standin-bs
    headerAction:
      requestHeadersToAdd:
        - headerName: x-tls
          headerValue: "  {{{tls_version}}} {client_cert_error} "
        - headerName: x-literal
          headerValue: " {{literal}} braces "
targetHttpsProxies:
  - name: https-proxy
    urlMap: test-map
    sslCertificates: [cert]
forwardingRules:
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "443"
    target: regions/us-central1/targetHttpsProxies/https-proxy
sslCertificates:
  - name: cert
    certificate: |
)" + indent(cert.certificate_pem, "      ") +
                             "    privateKey: |\n" + indent(cert.private_key_pem, "      ");
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    port_ = std::to_string(proxy_.port("https-rule"));
    ASSERT_NE(port_, "0");
  }

  std::string url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + port_ + path;
  }
  std::vector<std::string> h2_args(const std::string& host) const {
    return {"-k", "--http2", "--resolve", host + ":" + port_ + ":127.0.0.1"};
  }
  CurlResult h2_curl(const std::string& host, std::vector<std::string> args) const {
    auto all = h2_args(host);
    all.insert(all.end(), args.begin(), args.end());
    return run_curl(all);
  }

  TestBackend backend_;
  ProxyHarness proxy_;
  std::string port_;
};

TEST_F(ProxyHttp2Test, CurlNegotiatesH2AndReachesTheService) {
  const auto result = h2_curl("h2.example.com", {url("h2.example.com", "/hello?x=1")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.rfind("HTTP/2 200", 0), 0u) << result.headers;
  // The HTTP/1.1 backend got the request line from :method and :path, Host from :authority.
  EXPECT_EQ(result.body.rfind("GET /hello?x=1\n", 0), 0u) << result.body;
  EXPECT_NE(result.body.find("Host: h2.example.com:" + port_), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("X-Forwarded-Proto: https"), std::string::npos) << result.body;
  EXPECT_NE(result.headers.find("via: 1.1 google"), std::string::npos) << result.headers;
  const auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"protocol\":\"HTTP/2.0\""), std::string::npos) << lines[0];
}

TEST_F(ProxyHttp2Test, ClientOfferingOnlyHttp11GetsHttp11) {
  const auto result =
      run_curl({"-k", "--http1.1", "--resolve", "h2.example.com:" + port_ + ":127.0.0.1",
                url("h2.example.com", "/one")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.rfind("HTTP/1.1 200", 0), 0u) << result.headers;
}

TEST_F(ProxyHttp2Test, AuthorityPicksTheHostRuleAndHeaderActionsApply) {
  const auto result = h2_curl("standin.example.com", {url("standin.example.com", "/who")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("\"service\":\"standin\""), std::string::npos) << result.body;
  // Escapes resolved, the variable without a value (no mutual TLS) empty, and the ends
  // trimmed (surrounding whitespace is not part of a field value).
  EXPECT_NE(result.body.find("\"x-tls\":[\"{TLSv1.3}\"]"), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("\"x-literal\":[\"{literal} braces\"]"), std::string::npos)
      << result.body;
}

TEST_F(ProxyHttp2Test, UploadIsStreamedToTheService) {
  // 3 MiB: far more than the stream's window, so the client waits for albemu to read it.
  const std::string path = ::testing::TempDir() + "/h2-upload.bin";
  run_command("head -c 3145728 /dev/zero > " + path);
  const auto result =
      h2_curl("h2.example.com", {"--data-binary", "@" + path, url("h2.example.com", "/up")});
  std::remove(path.c_str());
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("body-bytes: 3145728"), std::string::npos) << result.body;
}

TEST_F(ProxyHttp2Test, DownloadComesWhole) {
  const auto result = h2_curl("h2.example.com", {url("h2.example.com", "/bytes/5000000")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body.size(), 5000000u);
  EXPECT_EQ(result.body.find_first_not_of('x'), std::string::npos);
}

TEST_F(ProxyHttp2Test, ManyStreamsShareOneConnection) {
  // curl says when it connects: once, every other transfer is multiplexed on that connection.
  std::string command =
      "curl -sSv -k --http2 --parallel --parallel-max 20 --resolve "
      "h2.example.com:" +
      port_ + ":127.0.0.1";
  for (int i = 0; i < 20; ++i) command += " " + url("h2.example.com", "/s" + std::to_string(i));
  int exit_code = -1;
  const std::string verbose = run_command(command + " 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 0);
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(verbose.find("GET /s" + std::to_string(i) + "\n"), std::string::npos) << i;
  }
  EXPECT_EQ(proxy_.wait_for_log_lines(20).size(), 20u);
  std::size_t connects = 0;
  for (auto at = verbose.find("* Connected to"); at != std::string::npos;
       at = verbose.find("* Connected to", at + 1)) {
    ++connects;
  }
  EXPECT_EQ(connects, 1u) << verbose;
}

TEST_F(ProxyHttp2Test, BackendErrorStatusGoesOutAsHttp2) {
  // albemu's own answers over HTTP/2 are checked by tests/clients/http2_clients_test.py
  // (403, 503 and the gRPC form); here the service's 503 passes through.
  const auto result = h2_curl("h2.example.com", {url("h2.example.com", "/status/503")});
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(result.headers.rfind("HTTP/2 503", 0), 0u) << result.headers;
}

TEST_F(ProxyHttp2Test, HeadAnswerHasNoBody) {
  // The backend's answer to HEAD says its length (the GET's) and has no body.
  const std::string out = run_command(
      "curl -sS -k --http2 -I -o /dev/null -w '%{http_version} %{http_code} "
      "%{size_download}' --resolve h2.example.com:" +
      port_ + ":127.0.0.1 " + url("h2.example.com", "/head"));
  EXPECT_EQ(out, "2 200 0");
}

TEST_F(ProxyHttp2Test, CookieCrumbsReachTheServiceAsOneField) {
  const auto result = h2_curl("h2.example.com", {"-H", "cookie: a=1", "-H", "cookie: b=2",
                                                 url("h2.example.com", "/cookies")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("Cookie: a=1; b=2"), std::string::npos) << result.body;
}

// h2load (nghttp2's benchmark client) over 4 connections of 10 concurrent streams each: every
// request is answered by the service with a 2xx.
TEST_F(ProxyHttp2Test, H2loadRequestsAllSucceed) {
  int exit_code = -1;
  const std::string out = run_command("h2load -n 2000 -c 4 -m 10 --connect-to=127.0.0.1:" + port_ +
                                          " " + url("h2.example.com", "/load") + " 2>&1",
                                      &exit_code);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_NE(out.find("Application protocol: h2"), std::string::npos) << out;
  EXPECT_NE(out.find("requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("status codes: 2000 2xx"), std::string::npos) << out;
  EXPECT_EQ(backend_.requests_for("/load"), 2000);
}

// nghttp shows the frames: albemu's SETTINGS (the stream limit and windows albemu announces)
// and the answer's HEADERS.
TEST_F(ProxyHttp2Test, NghttpSeesTheSettingsAndTheAnswer) {
  int exit_code = -1;
  const std::string out = run_command(
      "nghttp -nv -H ':authority: h2.example.com' https://127.0.0.1:" + port_ + "/frames 2>&1",
      &exit_code);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_NE(out.find("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]"), std::string::npos) << out;
  EXPECT_NE(out.find("[SETTINGS_INITIAL_WINDOW_SIZE(0x04):262144]"), std::string::npos) << out;
  // nghttp opens its priority streams first: the request's stream id is not 1.
  EXPECT_NE(out.find(") :status: 200"), std::string::npos) << out;
  EXPECT_NE(out.find(") via: 1.1 google"), std::string::npos) << out;
  EXPECT_EQ(backend_.requests_for("/frames"), 1);
}

}  // namespace
}  // namespace albemu::testing
