// Mutual TLS with clients, as GCP's regional internal Application Load Balancer does it: curl
// with --cert/--key and openssl s_client against a target HTTPS proxy with a server TLS policy,
// in both validation modes, with a valid, expired, wrongly issued, allowlisted or missing
// client certificate. The built-in stand-in echoes the {client_cert_*} headers the URL map adds.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "tests/integration/support/proxy_harness.h"
#include "tests/proxy/pki_test_support.h"

namespace albemu::testing {
namespace {

namespace json = boost::json;

constexpr const char* kVariables[] = {"present",         "chain_verified", "error",
                                      "spiffe_id",       "leaf",           "sha256_fingerprint",
                                      "valid_not_after", "dnsname_sans"};

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()));
  return out;
}

std::string der(X509* cert) {
  unsigned char* data = nullptr;
  const int length = i2d_X509(cert, &data);
  std::string out(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
  OPENSSL_free(data);
  return out;
}

class ProxyMtlsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("albemu-mtls-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    const Issued server = issue(CertSpec{.common_name = "lb.example.com",
                                         .extended_key_usage = "serverAuth",
                                         .subject_alt_names = {"DNS:lb.example.com"}});
    CertSpec good{.common_name = "good-client"};
    good.subject_alt_names = {"URI:spiffe://example.org/ns/prod/sa/client",
                              "DNS:client.example.com"};
    good_ = issue(good, &intermediate_);
    write_client("good", good_);
    CertSpec expired{.common_name = "expired-client"};
    expired.not_before_offset = -7200;
    expired.not_after_offset = -3600;
    write_client("expired", issue(expired, &root_));
    write_client("stranger", issue_client("stranger", issue_ca("Other Root")));
    write_client("allowlisted", allowlisted_);
    // curl sends the intermediate with the leaf when it is in the --cert file.
    std::ofstream(dir_ / "good.pem", std::ios::app) << intermediate_.cert_pem;

    std::string headers =
        "        - headerName: x-client-ip\n          headerValue: \"{client_ip_address}\"\n";
    for (const char* variable : kVariables) {
      headers += std::string("        - headerName: x-cert-") + variable +
                 "\n          headerValue: \"{client_cert_" + variable + "}\"\n";
    }
    // The mtls.* log fields are optional ones: the backend service includes them all.
    std::string service = single_service_yaml("");
    const std::string logging = "logConfig: {enable: true}";
    service.replace(service.find(logging), logging.size(),
                    "logConfig: {enable: true, optionalMode: INCLUDE_ALL_OPTIONAL}");
    const std::string yaml = "project: it-project\nregion: us-central1\n" + service +
                             "    headerAction:\n      requestHeadersToAdd:\n" + headers + R"(
sslCertificates:
  - name: lb-cert
    certificate: |
)" + indent(server.cert_pem, "      ") +
                             "    privateKey: |\n" + indent(server.key_pem, "      ") + R"(
trustConfigs:
  - name: projects/it-project/locations/us-central1/trustConfigs/client-roots
    trustStores:
      - trustAnchors:
          - pemCertificate: |
)" + indent(root_.cert_pem, "              ") +
                             R"(        intermediateCas: []
    allowlistedCertificates:
      - pemCertificate: |
)" + indent(allowlisted_.cert_pem, "          ") +
                             R"(
serverTlsPolicies:
  - name: mtls-policy
    mtlsPolicy:
      clientValidationMode: )" +
                             GetParam() + R"(
      clientValidationTrustConfig: projects/it-project/locations/us-central1/trustConfigs/client-roots
targetHttpsProxies:
  - name: https-proxy
    urlMap: test-map
    sslCertificates: [lb-cert]
    serverTlsPolicy: //networksecurity.googleapis.com/projects/it-project/locations/us-central1/serverTlsPolicies/mtls-policy
forwardingRules:
  - name: https-rule
    IPAddress: 127.0.0.1
    portRange: "443"
    target: targetHttpsProxies/https-proxy
)";
    ASSERT_EQ(proxy_.apply_yaml(yaml), "");
    port_ = std::to_string(proxy_.port("https-rule"));
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void write_client(const std::string& name, const Issued& issued) {
    std::ofstream(dir_ / (name + ".pem")) << issued.cert_pem;
    std::ofstream(dir_ / (name + ".key")) << issued.key_pem;
  }

  /// curl to the HTTPS rule, with the client certificate `name` (empty: none).
  CurlResult request(const std::string& name, const std::string& protocol = "--http1.1") {
    std::vector<std::string> args{"-k", protocol, "https://127.0.0.1:" + port_ + "/whoami"};
    if (!name.empty()) {
      args.insert(args.end(), {"--cert", (dir_ / (name + ".pem")).string(), "--key",
                               (dir_ / (name + ".key")).string()});
    }
    return run_curl(args);
  }

  /// The x-cert-* headers the stand-in received, by variable name.
  static std::map<std::string, std::string> variables(const CurlResult& result) {
    std::map<std::string, std::string> out;
    const json::value body = json::parse(result.body);
    const json::object& headers = body.as_object().at("headers").as_object();
    for (const char* variable : kVariables) {
      const auto it = headers.find(std::string("x-cert-") + variable);
      if (it != headers.end())
        out[variable] = std::string(it->value().as_array().at(0).as_string());
    }
    // Every header the URL map adds arrives, empty or not: a missing one is not "".
    EXPECT_EQ(out.size(), std::size(kVariables)) << result.body;
    return out;
  }

  bool rejecting() const { return GetParam() == "REJECT_INVALID"; }

  Issued root_ = issue_ca("Client Root");
  Issued intermediate_ = issue_ca("Client Intermediate", &root_);
  Issued allowlisted_ = issue(CertSpec{.common_name = "self-signed-device"});
  Issued good_;
  std::filesystem::path dir_;
  ProxyHarness proxy_;
  std::string port_;
};

TEST_P(ProxyMtlsTest, AValidCertificateReachesTheServiceWithItsFields) {
  for (const std::string protocol : {"--http1.1", "--http2"}) {
    const CurlResult result = request("good", protocol);
    ASSERT_EQ(result.status, 200) << protocol << " " << result.body;
    auto values = variables(result);
    EXPECT_EQ(values["present"], "true");
    EXPECT_EQ(values["chain_verified"], "true");
    EXPECT_EQ(values["error"], "");
    EXPECT_EQ(values["spiffe_id"], "spiffe://example.org/ns/prod/sa/client");
    EXPECT_EQ(values["dnsname_sans"], "Y2xpZW50LmV4YW1wbGUuY29t");  // Base64 client.example.com
    EXPECT_EQ(values["leaf"], ":" + base64(der(good_.cert.get())) + ":");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    X509_digest(good_.cert.get(), EVP_sha256(), digest, &digest_length);
    EXPECT_EQ(values["sha256_fingerprint"],
              base64(std::string(reinterpret_cast<const char*>(digest), digest_length)));
    EXPECT_TRUE(values["valid_not_after"].ends_with("+00:00")) << values["valid_not_after"];
    EXPECT_NE(result.body.find(R"("x-client-ip":["127.0.0.1"])"), std::string::npos) << result.body;
  }
  const auto lines = proxy_.wait_for_log_lines(2);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {  // HTTP/1.1, then HTTP/2
    const json::object mtls =
        json::parse(line).as_object().at("jsonPayload").as_object().at("mtls").as_object();
    EXPECT_EQ(mtls.at("clientCertPresent"), true) << line;
    EXPECT_EQ(mtls.at("clientCertChainVerified"), true) << line;
    EXPECT_EQ(mtls.at("clientCertSpiffeId"), "spiffe://example.org/ns/prod/sa/client") << line;
  }
}

TEST_P(ProxyMtlsTest, AnAllowlistedSelfSignedCertificateIsValid) {
  const CurlResult result = request("allowlisted");
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(variables(result)["chain_verified"], "true");
}

TEST_P(ProxyMtlsTest, InvalidOrMissingCertificatesFollowTheMode) {
  const std::pair<std::string, std::string> cases[] = {
      {"expired", "client_cert_validation_failed"},
      {"stranger", "client_cert_validation_failed"},
      {"", "client_cert_not_provided"}};
  for (const auto& [name, error] : cases) {
    const CurlResult result = request(name);
    if (rejecting()) {
      // The handshake fails: no HTTP answer at all, as on GCP.
      EXPECT_EQ(result.status, 0) << name;
      EXPECT_NE(result.exit_code, 0) << name;
      continue;
    }
    ASSERT_EQ(result.status, 200) << name << " " << result.body;
    auto values = variables(result);
    EXPECT_EQ(values["present"], name.empty() ? "false" : "true") << name;
    EXPECT_EQ(values["chain_verified"], "false") << name;
    EXPECT_EQ(values["error"], error) << name;
    EXPECT_EQ(values["leaf"], "") << name;  // only for a certificate that passed
  }
  // Every refused connection, or every request, has its log line with the reason.
  const auto lines = proxy_.wait_for_log_lines(3);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const json::object entry = json::parse(lines[i]).as_object();
    const json::object& payload = entry.at("jsonPayload").as_object();
    EXPECT_EQ(entry.at("httpRequest").as_object().at("status"), rejecting() ? 0 : 200);
    if (rejecting()) {
      // A closed connection: no backend service, so no optional fields; the reason is
      // statusDetails.
      EXPECT_EQ(payload.at("statusDetails").as_string(), cases[i].second) << lines[i];
    } else {
      EXPECT_EQ(payload.at("mtls").as_object().at("clientCertError").as_string(), cases[i].second)
          << lines[i];
    }
  }
}

TEST_P(ProxyMtlsTest, OpensslSeesTheCertificateRequest) {
  // Both modes ask for a certificate (openssl's -msg shows the CertificateRequest). Without
  // one, REJECT_INVALID ends the TLS 1.3 handshake with the certificate_required alert (116);
  // ALLOW_INVALID_OR_MISSING_CLIENT_CERT answers.
  const std::string output = run_command(
      "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
      "openssl s_client -connect 127.0.0.1:" +
      port_ + " -tls1_3 -msg -ign_eof 2>&1");
  EXPECT_NE(output.find("CertificateRequest"), std::string::npos) << output;
  if (rejecting()) {
    EXPECT_NE(output.find("alert certificate required"), std::string::npos) << output;
  } else {
    EXPECT_NE(output.find("HTTP/1.1 200"), std::string::npos) << output;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxyMtlsTest,
                         ::testing::Values("ALLOW_INVALID_OR_MISSING_CLIENT_CERT",
                                           "REJECT_INVALID"));

}  // namespace
}  // namespace albemu::testing
