// https:// Cloud Run service URLs: albemu reaches them over TLS with SNI, verifies the chain
// (system store plus caCertificateFile) and the host name, pools the TLS connections, and
// answers a failed verification or handshake with a 502 that says why.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"
#include "tests/integration/support/tls_backend.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {
namespace {

class ProxyServiceTlsTest : public ::testing::Test {
 protected:
  ProxyServiceTlsTest() : ca_(generate_ca("albemu test CA")) {
    ca_file_ = temp_.file("ca.pem");
    cli_testing::write_file(ca_file_, ca_.certificate_pem);
  }

  /// Serves a config whose service `app` is at `url`, trusting the test CA (unless
  /// `trust_ca` is false) and with `route_yaml` spliced after the URL map's defaultService.
  void serve(const std::string& url, bool trust_ca = true, const std::string& route_yaml = "") {
    std::string yaml = basic_config(single_service_yaml(url) + route_yaml);
    if (trust_ca) {
      const std::string line = "    url: " + url + "\n";
      yaml.replace(yaml.find(line), line.size(),
                   line + "    caCertificateFile: " + ca_file_ + "\n");
    }
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
  }

  CurlResult get(const std::string& path) {
    return run_curl({"-H", "Host: client.example.com", proxy_.url("http-rule", path)});
  }

  static std::string localhost_url(const TlsBackend& backend) {
    return "https://localhost:" + std::to_string(backend.port());
  }

  cli_testing::TempDir temp_;
  TestCertificate ca_;
  std::string ca_file_;
  ProxyHarness proxy_;
};

TEST_F(ProxyServiceTlsTest, VerifiedServiceAnswersWithSniAndTheUrlsHost) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost,IP:127.0.0.1"));
  serve(localhost_url(backend));
  const auto result = get("/hello");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_NE(result.body.find("tls backend"), std::string::npos) << result.body;
  EXPECT_EQ(backend.last_sni(), "localhost");
  // A deployed service is routed by Host: the URL's, not the client's.
  EXPECT_EQ(backend.last_host(), "localhost:" + std::to_string(backend.port()));
  EXPECT_NE(result.body.find("alpn: http/1.1"), std::string::npos) << result.body;
}

TEST_F(ProxyServiceTlsTest, KeptConnectionIsReusedForTheNextRequest) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost"));
  serve(localhost_url(backend));
  // One worker serves both: curl's two URLs share its one client connection.
  const auto first = run_curl(
      {proxy_.url("http-rule", "/one"), "-o", "/dev/null", proxy_.url("http-rule", "/two")});
  EXPECT_EQ(first.exit_code, 0);
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(backend.requests(), 2);
  EXPECT_EQ(backend.connections(), 1);
  EXPECT_EQ(backend.handshakes(), 1);
}

TEST_F(ProxyServiceTlsTest, IpLiteralUrlSendsNoSniAndIsCheckedByAddress) {
  TlsBackend backend(generate_signed(ca_, "loopback", "IP:127.0.0.1"));
  serve("https://127.0.0.1:" + std::to_string(backend.port()));
  const auto result = get("/ip");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(backend.last_sni(), "");
}

TEST_F(ProxyServiceTlsTest, HostRewriteWinsOverTheUrlsHost) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost"));
  serve(localhost_url(backend), true,
        "    defaultRouteAction:\n      urlRewrite:\n        hostRewrite: rewritten.example.com\n");
  const auto result = get("/rewrite");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(backend.last_host(), "rewritten.example.com");
  EXPECT_EQ(backend.last_sni(), "localhost");
}

TEST_F(ProxyServiceTlsTest, WrongHostNameIsA502ThatSaysWhy) {
  TlsBackend backend(generate_signed(ca_, "other.example.com", "DNS:other.example.com"));
  serve(localhost_url(backend));
  const auto result = get("/name");
  EXPECT_EQ(result.status, 502);
  EXPECT_NE(result.body.find("TLS_error:certificate verify failed: hostname mismatch"),
            std::string::npos)
      << result.body;
  EXPECT_EQ(backend.requests(), 0);
  const auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("tls_certificate_error"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"statusDetails\":\"failed_to_connect_to_backend\""), std::string::npos)
      << lines[0];
}

TEST_F(ProxyServiceTlsTest, UnknownCaIsA502) {
  const TestCertificate other_ca = generate_ca("unknown CA");
  TlsBackend backend(generate_signed(other_ca, "localhost", "DNS:localhost"));
  serve(localhost_url(backend));
  const auto result = get("/ca");
  EXPECT_EQ(result.status, 502);
  EXPECT_NE(result.body.find("unable to get local issuer certificate"), std::string::npos)
      << result.body;
  EXPECT_EQ(backend.requests(), 0);
}

TEST_F(ProxyServiceTlsTest, WithoutTheCaFileTheTestCaIsNotTrusted) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost"));
  serve(localhost_url(backend), false);
  const auto result = get("/system-only");
  EXPECT_EQ(result.status, 502);
  EXPECT_NE(result.body.find("certificate verify failed"), std::string::npos) << result.body;
}

TEST_F(ProxyServiceTlsTest, PlainBackendBehindAnHttpsUrlIsATlsProtocolError) {
  // A plain HTTP server: whatever comes first, it answers 400 in cleartext and closes.
  boost::asio::io_context io_context;
  boost::asio::ip::tcp::acceptor acceptor(io_context,
                                          {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::thread plain([&] {
    boost::asio::ip::tcp::socket socket(io_context);
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) return;
    const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(answer), ec);
    socket.close(ec);
  });
  serve("https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  const auto result = get("/plain");
  plain.join();
  EXPECT_EQ(result.status, 502);
  EXPECT_NE(result.body.find("TLS_error:"), std::string::npos) << result.body;
  const auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("tls_protocol_error"), std::string::npos) << lines[0];
}

TEST_F(ProxyServiceTlsTest, HttpUrlKeepsTheClientsHost) {
  TestBackend plain;
  serve(plain.url(), false);
  const auto result = get("/plain-host");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_NE(plain.last_request().find("client.example.com"), std::string::npos)
      << plain.last_request();
}

TEST_F(ProxyServiceTlsTest, UnparsableCaFileIsRefusedWhenTheConfigIsApplied) {
  cli_testing::write_file(ca_file_,
                          "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  std::string yaml = basic_config(single_service_yaml("https://localhost:8443"));
  const std::string line = "    url: https://localhost:8443\n";
  yaml.replace(yaml.find(line), line.size(), line + "    caCertificateFile: " + ca_file_ + "\n");
  const std::string errors = proxy_.apply_yaml(yaml);
  EXPECT_NE(errors.find("cloudRunServices[app].caCertificateFile"), std::string::npos) << errors;
  EXPECT_NE(errors.find(ca_file_), std::string::npos) << errors;
}

TEST_F(ProxyServiceTlsTest, NextConnectionResumesTheSession) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost"));
  serve(localhost_url(backend));
  // The backend closes after each answer: the second request needs a new connection.
  const auto result = run_curl(
      {proxy_.url("http-rule", "/close"), "-o", "/dev/null", proxy_.url("http-rule", "/close")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(backend.handshakes(), 2);
  EXPECT_EQ(backend.resumed(), 1);
}

TEST_F(ProxyServiceTlsTest, BodyEndingWithTheConnectionWithoutCloseNotifyIsWhole) {
  TlsBackend backend(generate_signed(ca_, "localhost", "DNS:localhost"));
  serve(localhost_url(backend));
  const auto result = get("/until-close");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("alpn: http/1.1\n"), std::string::npos) << result.body;
}

}  // namespace
}  // namespace albemu::testing
