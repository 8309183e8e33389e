// HTTPS listeners: curl over TLS with SNI, the certificate chosen by SNI (checked with
// openssl s_client), and X-Forwarded-Proto https at the backend.

#include <gtest/gtest.h>

#include "tests/integration/support/proxy_harness.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::testing {
namespace {

class ProxyTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto a = generate_self_signed("a.example.com", {"a.example.com"});
    const auto b = generate_self_signed("b.example.com", {"b.example.com"});
    std::string certificates = "sslCertificates:\n";
    for (const auto& [name, cert] : {std::pair{"cert-a", a}, std::pair{"cert-b", b}}) {
      certificates += std::string("  - name: ") + name + "\n    certificate: |\n" +
                      indent(cert.certificate_pem, "      ") + "    privateKey: |\n" +
                      indent(cert.private_key_pem, "      ");
    }
    // The built-in stand-in (no URL) answers; the URL map adds the SNI to the request.
    const std::string yaml = "project: it-project\nregion: us-central1\n" +
                             single_service_yaml("") + R"(    headerAction:
      requestHeadersToAdd:
        - headerName: x-sni
          headerValue: "sni={tls_sni_hostname}"
targetHttpsProxies:
  - name: https-proxy
    urlMap: test-map
    sslCertificates: [cert-a, cert-b]
forwardingRules:
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "443"
    target: regions/us-central1/targetHttpsProxies/https-proxy
)" + certificates;
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    port_ = std::to_string(proxy_.port("https-rule"));
    ASSERT_NE(port_, "0");
  }

  std::string served_subject(const std::string& servername) {
    std::string sni = servername.empty() ? "-noservername" : "-servername " + servername;
    return run_command("openssl s_client -connect 127.0.0.1:" + port_ + " " + sni +
                       " </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null");
  }

  ProxyHarness proxy_;
  std::string port_;
};

TEST_F(ProxyTlsTest, CurlOverTlsReachesTheStandIn) {
  auto result = run_curl({"-k", "--resolve", "b.example.com:" + port_ + ":127.0.0.1",
                          "https://b.example.com:" + port_ + "/hello"});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.body.find("\"service\":\"app\""), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("\"x-forwarded-proto\":[\"https\"]"), std::string::npos)
      << result.body;
  auto lines = proxy_.wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("b.example.com"), std::string::npos) << lines[0];
}

TEST_F(ProxyTlsTest, SniPicksTheCertificate) {
  EXPECT_NE(served_subject("b.example.com").find("b.example.com"), std::string::npos);
  EXPECT_NE(served_subject("a.example.com").find("a.example.com"), std::string::npos);
  // No SNI, or an unknown name: the first certificate.
  EXPECT_NE(served_subject("").find("a.example.com"), std::string::npos);
  EXPECT_NE(served_subject("other.example.org").find("a.example.com"), std::string::npos);
}

TEST_F(ProxyTlsTest, OnlyHostNameSniReachesHeaderVariables) {
  // openssl s_client sends the SNI as given; the request goes through its stdin.
  auto request_with_sni = [&](const std::string& sni_shell_word) {
    return run_command(
        "printf 'GET /sni HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
        "openssl s_client -quiet -connect 127.0.0.1:" +
        port_ + " -servername " + sni_shell_word + " 2>/dev/null");
  };
  const std::string plain = request_with_sni("b.example.com");
  EXPECT_NE(plain.find("\"x-sni\":[\"sni=b.example.com\"]"), std::string::npos) << plain;

  const std::string hostile = request_with_sni("\"$(printf 'b.example.com\\rX-Injected: 1')\"");
  ASSERT_NE(hostile.find("\"service\":\"app\""), std::string::npos) << hostile;
  EXPECT_EQ(hostile.find("X-Injected"), std::string::npos) << hostile;
  EXPECT_NE(hostile.find("\"x-sni\":[\"sni=\"]"), std::string::npos) << hostile;
}

}  // namespace
}  // namespace albemu::testing
