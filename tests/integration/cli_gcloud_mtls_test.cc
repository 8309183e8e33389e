// Mutual TLS set up the way a GCP user does it, against a real `albemu serve --api`: a trust
// config and a server TLS policy imported with `albemu gcloud`, attached to a target HTTPS
// proxy, then checked with curl --cert/--key; export/import round trips, deletes refused while
// in use, and the certificatemanager/networksecurity REST surfaces (Operations, errors with the
// loader's field path).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/support/cli_serve.h"
#include "tests/proxy/pki_test_support.h"

namespace albemu::cli_testing::gcloud_mtls {
namespace {

using albemu::testing::CertSpec;
using albemu::testing::Issued;

const std::string kRegionFlag = "--region=us-central1";
const std::string kLocationFlag = "--location=us-central1";
const std::string kTrustConfigs =
    "/certificatemanager/v1/projects/p/locations/us-central1/trustConfigs";
const std::string kPolicies =
    "/networksecurity/v1/projects/p/locations/us-central1/serverTlsPolicies";

/// `albemu gcloud ARGS...` against `api`, in project p.
CommandResult gcloud_at(const std::string& api, std::vector<std::string> args) {
  std::vector<std::string> argv{albemu_binary(), "gcloud", "--api-endpoint", "http://" + api,
                                "--project=p"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

/// A REST call to the API; the status and the parsed body (empty object if not JSON).
std::pair<int, boost::json::object> rest(const std::string& api, const std::string& method,
                                         const std::string& target, const std::string& body = {}) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  const HttpResult result = http_request(api, method, target, headers, body);
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(result.body, ec);
  return {result.status, !ec && parsed.is_object() ? parsed.as_object() : boost::json::object{}};
}

std::string error_message(const boost::json::object& body) {
  const auto* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) return "(no error) " + boost::json::serialize(body);
  return std::string(error->as_object().at("status").as_string()) + ": " +
         std::string(error->as_object().at("message").as_string());
}

/// The PKI of a test: the trust anchor, a client it signed, a client of another root and the
/// load balancer's certificate, all as files in `dir`.
struct Pki {
  explicit Pki(const TempDir& dir) {
    const Issued root = albemu::testing::issue_ca("Client Root");
    const Issued client = albemu::testing::issue_client("good-client", root);
    const Issued stranger =
        albemu::testing::issue_client("stranger", albemu::testing::issue_ca("Other Root"));
    const Issued server =
        albemu::testing::issue(CertSpec{.common_name = "lb.example.com",
                                        .extended_key_usage = "serverAuth",
                                        .subject_alt_names = {"DNS:lb.example.com"}});
    root_pem = root.cert_pem;
    write_file(dir.file("root.pem"), root.cert_pem);
    write_file(dir.file("good.pem"), client.cert_pem);
    write_file(dir.file("good.key"), client.key_pem);
    write_file(dir.file("stranger.pem"), stranger.cert_pem);
    write_file(dir.file("stranger.key"), stranger.key_pem);
    write_file(dir.file("server.crt"), server.cert_pem);
    write_file(dir.file("server.key"), server.key_pem);
  }
  std::string root_pem;
};

/// Runs gcloud command lines (words split on spaces); stops at the first failure.
void run_lines(const std::string& api, const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    std::vector<std::string> words;
    for (std::size_t start = 0; start < line.size();) {
      const std::size_t end = line.find(' ', start);
      words.push_back(line.substr(start, end - start));
      start = end == std::string::npos ? line.size() : end + 1;
    }
    const CommandResult result = gcloud_at(api, words);
    ASSERT_EQ(result.exit_code, 0) << line << "\n" << result.err;
  }
}

TEST(GcloudMtls, ImportedPolicyOnTheProxyEnforcesClientCertificates) {
  TempDir dir;
  const Pki pki(dir);
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();

  // The guide's files: the trust anchor by albemu's pemCertificateFile (relative to the file,
  // inlined by import), the policy naming the trust config by its full name.
  write_file(
      dir.file("trust_config.yaml"),
      "name: client-roots\ntrustStores:\n- trustAnchors:\n  - pemCertificateFile: root.pem\n");
  write_file(dir.file("server_tls_policy.yaml"),
             "name: mtls-policy\nmtlsPolicy:\n  clientValidationMode: REJECT_INVALID\n"
             "  clientValidationTrustConfig: "
             "projects/p/locations/us-central1/trustConfigs/client-roots\n");
  const CommandResult trust =
      gcloud_at(api, {"certificate-manager", "trust-configs", "import", "client-roots",
                      "--source=" + dir.file("trust_config.yaml"), kLocationFlag});
  ASSERT_EQ(trust.exit_code, 0) << trust.err;
  EXPECT_EQ(trust.err, "Created trustConfig [client-roots].\n");
  const CommandResult policy =
      gcloud_at(api, {"network-security", "server-tls-policies", "import", "mtls-policy",
                      "--source", dir.file("server_tls_policy.yaml"), kLocationFlag});
  ASSERT_EQ(policy.exit_code, 0) << policy.err;
  EXPECT_EQ(policy.err, "Created serverTlsPolicy [mtls-policy].\n");

  run_lines(
      api,
      {
          "run deploy svc --platform=managed --ingress=internal " + kRegionFlag,
          "compute networks create net --subnet-mode=custom",
          "compute networks subnets create sub --network=net --range=10.1.2.0/24 " + kRegionFlag,
          "compute networks subnets create proxy-only --purpose=REGIONAL_MANAGED_PROXY "
          "--role=ACTIVE --network=net --range=10.129.0.0/23 " +
              kRegionFlag,
          "compute network-endpoint-groups create neg "
          "--network-endpoint-type=serverless --cloud-run-service=svc " +
              kRegionFlag,
          "compute backend-services create bs --load-balancing-scheme=INTERNAL_MANAGED "
          "--protocol=HTTP " +
              kRegionFlag,
          "compute backend-services add-backend bs --network-endpoint-group=neg " + kRegionFlag,
          "compute url-maps create map --default-service=bs " + kRegionFlag,
          "compute ssl-certificates create cert --certificate=" + dir.file("server.crt") +
              " --private-key=" + dir.file("server.key") + " " + kRegionFlag,
          "compute target-https-proxies create proxy --url-map=map "
          "--ssl-certificates=cert " +
              kRegionFlag,
          "compute forwarding-rules create rule --load-balancing-scheme=INTERNAL_MANAGED "
          "--network=net --subnet=sub --target-https-proxy=proxy "
          "--address=127.0.0.1 --ports=443 " +
              kRegionFlag,
      });
  if (HasFatalFailure()) return;
  std::string port;
  ASSERT_TRUE(poll_until([&] {
    if (!serve.wait_ready()) return false;
    try {
      port = serve.port("rule");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }));
  const auto curl = [&](const std::string& client) {
    std::vector<std::string> argv{"/usr/bin/curl", "-s", "-k", "https://127.0.0.1:" + port + "/"};
    if (!client.empty())
      argv.insert(argv.end(),
                  {"--cert", dir.file(client + ".pem"), "--key", dir.file(client + ".key")});
    const CommandResult result = run(argv);
    return result.exit_code == 0 ? service_of(result.out)
                                 : "curl exit " + std::to_string(result.exit_code);
  };
  EXPECT_EQ(curl(""), "svc");  // no policy yet: no client certificate needed

  const CommandResult attached =
      gcloud_at(api, {"compute", "target-https-proxies", "update", "proxy",
                      "--server-tls-policy=mtls-policy", kRegionFlag});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  const auto described =
      boost::json::parse(gcloud_at(api, {"compute", "target-https-proxies", "describe", "proxy",
                                         kRegionFlag, "--format=json"})
                             .out);
  ASSERT_TRUE(described.as_object().contains("serverTlsPolicy")) << described;
  EXPECT_EQ(described.at("serverTlsPolicy").as_string(),
            "//networksecurity.googleapis.com/projects/p/locations/us-central1/serverTlsPolicies/"
            "mtls-policy");
  // The API answers once the new generation serves: REJECT_INVALID holds at once.
  EXPECT_NE(curl(""), "svc");
  EXPECT_NE(curl("stranger"), "svc");
  EXPECT_EQ(curl("good"), "svc");

  // Export writes the PEM inline; importing the export changes nothing.
  const CommandResult exported =
      gcloud_at(api, {"certificate-manager", "trust-configs", "export", "client-roots",
                      kLocationFlag, "--destination=" + dir.file("exported.yaml")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string yaml = read_file(dir.file("exported.yaml"));
  EXPECT_NE(yaml.find("name: projects/p/locations/us-central1/trustConfigs/client-roots\n"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("pemCertificate: |"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("pemCertificateFile"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("createTime"), std::string::npos) << yaml;
  EXPECT_EQ(gcloud_at(api, {"certificate-manager", "trust-configs", "export", "client-roots",
                            kLocationFlag})
                .out,
            yaml);
  const CommandResult reimported =
      gcloud_at(api, {"certificate-manager", "trust-configs", "import", "client-roots",
                      "--source=" + dir.file("exported.yaml"), kLocationFlag});
  ASSERT_EQ(reimported.exit_code, 0) << reimported.err;
  EXPECT_EQ(reimported.err, "Updated trustConfig [client-roots].\n");
  const auto [status, stored] = rest(api, "GET", kTrustConfigs + "/client-roots");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(
      stored.at("trustStores").at(0).at("trustAnchors").at(0).at("pemCertificate").as_string(),
      pki.root_pem);
  const CommandResult policy_yaml = gcloud_at(
      api, {"network-security", "server-tls-policies", "export", "mtls-policy", kLocationFlag});
  ASSERT_EQ(policy_yaml.exit_code, 0) << policy_yaml.err;
  EXPECT_NE(policy_yaml.out.find("clientValidationMode: REJECT_INVALID\n"), std::string::npos)
      << policy_yaml.out;
  EXPECT_EQ(curl("good"), "svc");
  EXPECT_NE(curl(""), "svc");

  // Deletes refused while in use, as GCP refuses them.
  const CommandResult trust_in_use = gcloud_at(
      api, {"certificate-manager", "trust-configs", "delete", "client-roots", kLocationFlag, "-q"});
  EXPECT_EQ(trust_in_use.exit_code, 1);
  EXPECT_EQ(trust_in_use.err,
            "ERROR: (gcloud.certificate-manager.trust-configs.delete) FAILED_PRECONDITION: The "
            "trust_config resource 'projects/p/locations/us-central1/trustConfigs/client-roots' "
            "is in use by 'projects/p/locations/us-central1/serverTlsPolicies/mtls-policy'\n");
  const CommandResult policy_in_use = gcloud_at(
      api, {"network-security", "server-tls-policies", "delete", "mtls-policy", kLocationFlag});
  EXPECT_EQ(policy_in_use.exit_code, 1);
  EXPECT_NE(policy_in_use.err.find("is in use by "
                                   "'projects/p/regions/us-central1/targetHttpsProxies/proxy'"),
            std::string::npos)
      << policy_in_use.err;
  EXPECT_NE(curl(""), "svc");

  // Detached, then both deleted: no client certificate needed again.
  ASSERT_EQ(gcloud_at(api, {"compute", "target-https-proxies", "update", "proxy",
                            "--clear-server-tls-policy", kRegionFlag})
                .exit_code,
            0);
  EXPECT_EQ(curl(""), "svc");
  run_lines(api, {"network-security server-tls-policies delete mtls-policy " + kLocationFlag,
                  "certificate-manager trust-configs delete client-roots " + kLocationFlag});
  const CommandResult listed =
      gcloud_at(api, {"certificate-manager", "trust-configs", "list", kLocationFlag});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.err, "Listed 0 items.\n");
}

TEST(GcloudMtls, RestSurfacesAnswerOperationsAndTheLoadersErrors) {
  TempDir dir;
  const Pki pki(dir);
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  const boost::json::object anchor{{"pemCertificate", pki.root_pem}};
  const std::string trust_config = boost::json::serialize(boost::json::object{
      {"description", "roots"},
      {"trustStores",
       boost::json::array{boost::json::object{{"trustAnchors", boost::json::array{anchor}}}}}});

  // A create answers a done google.longrunning Operation with the resource.
  const auto [created, operation] =
      rest(api, "POST", kTrustConfigs + "?trustConfigId=tc", trust_config);
  ASSERT_EQ(created, 200) << boost::json::serialize(operation);
  const std::string name(operation.at("name").as_string());
  EXPECT_TRUE(name.starts_with("projects/p/locations/us-central1/operations/operation-")) << name;
  EXPECT_EQ(operation.at("done"), true);
  EXPECT_EQ(operation.at("metadata").at("verb").as_string(), "create");
  EXPECT_EQ(operation.at("response").at("@type").as_string(),
            "type.googleapis.com/google.cloud.certificatemanager.v1.TrustConfig");
  EXPECT_EQ(operation.at("response").at("name").as_string(),
            "projects/p/locations/us-central1/trustConfigs/tc");
  EXPECT_EQ(rest(api, "GET", "/certificatemanager/v1/" + name).second, operation);
  EXPECT_EQ(rest(api, "GET", kTrustConfigs).second.at("trustConfigs").as_array().size(), 1U);

  const auto again = rest(api, "POST", kTrustConfigs + "?trustConfigId=tc", trust_config);
  EXPECT_EQ(again.first, 409) << error_message(again.second);
  EXPECT_EQ(rest(api, "POST", kTrustConfigs, trust_config).first, 400);  // no trustConfigId

  // Malformed resources: 400 with the loader's field path; nothing is stored.
  const auto bad_pem =
      rest(api, "POST", kTrustConfigs + "?trustConfigId=bad",
           R"({"trustStores":[{"trustAnchors":[{"pemCertificate":"not a pem"}]}]})");
  EXPECT_EQ(bad_pem.first, 400);
  EXPECT_NE(error_message(bad_pem.second).find("INVALID_ARGUMENT: "), std::string::npos);
  EXPECT_NE(error_message(bad_pem.second)
                .find("trustStores[0].trustAnchors[0].pemCertificate: is not PEM text"),
            std::string::npos)
      << error_message(bad_pem.second);
  EXPECT_EQ(rest(api, "GET", kTrustConfigs + "/bad").first, 404);
  const auto no_trust = rest(api, "POST", kPolicies + "?serverTlsPolicyId=pol",
                             R"({"mtlsPolicy":{"clientValidationMode":"REJECT_INVALID"}})");
  EXPECT_EQ(no_trust.first, 400);
  EXPECT_NE(error_message(no_trust.second)
                .find("mtlsPolicy.clientValidationTrustConfig: is required with "
                      "clientValidationMode REJECT_INVALID"),
            std::string::npos)
      << error_message(no_trust.second);
  const auto pem_file =
      rest(api, "POST", kTrustConfigs + "?trustConfigId=file",
           R"({"trustStores":[{"trustAnchors":[{"pemCertificateFile":"/etc/passwd"}]}]})");
  EXPECT_EQ(pem_file.first, 400);
  EXPECT_NE(
      error_message(pem_file.second).find("trustStores[0].trustAnchors[0].pemCertificateFile"),
      std::string::npos)
      << error_message(pem_file.second);
  const auto missing = rest(api, "POST", kPolicies + "?serverTlsPolicyId=pol",
                            R"({"mtlsPolicy":{"clientValidationMode":"REJECT_INVALID",
                                "clientValidationTrustConfig":"projects/p/locations/us-central1/trustConfigs/nope"}})");
  EXPECT_EQ(missing.first, 404) << error_message(missing.second);

  // A policy on the trust config; patch with and without a mask; the delete order GCP needs.
  const auto policy = rest(api, "POST", kPolicies + "?serverTlsPolicyId=pol",
                           R"({"mtlsPolicy":{"clientValidationMode":"REJECT_INVALID",
                               "clientValidationTrustConfig":"projects/p/locations/us-central1/trustConfigs/tc"}})");
  ASSERT_EQ(policy.first, 200) << error_message(policy.second);
  EXPECT_EQ(policy.second.at("response").at("@type").as_string(),
            "type.googleapis.com/google.cloud.networksecurity.v1.ServerTlsPolicy");
  EXPECT_EQ(rest(api, "PATCH", kTrustConfigs + "/tc", R"({"description":"x"})").first, 400);
  const auto patched =
      rest(api, "PATCH", kTrustConfigs + "/tc?updateMask=description", R"({"description":"new"})");
  ASSERT_EQ(patched.first, 200) << error_message(patched.second);
  EXPECT_EQ(patched.second.at("response").at("description").as_string(), "new");
  EXPECT_TRUE(patched.second.at("response").as_object().contains("trustStores"));
  const auto loosened =
      rest(api, "PATCH", kPolicies + "/pol",
           R"({"mtlsPolicy":{"clientValidationMode":"ALLOW_INVALID_OR_MISSING_CLIENT_CERT"}})");
  ASSERT_EQ(loosened.first, 200) << error_message(loosened.second);
  EXPECT_FALSE(loosened.second.at("response")
                   .at("mtlsPolicy")
                   .as_object()
                   .contains("clientValidationTrustConfig"));
  const auto rejected =
      rest(api, "PATCH", kPolicies + "/pol?updateMask=mtlsPolicy.clientValidationMode",
           R"({"mtlsPolicy":{"clientValidationMode":"REJECT_INVALID"}})");
  EXPECT_EQ(rejected.first, 400) << error_message(rejected.second);

  const auto relinked = rest(api, "PATCH", kPolicies + "/pol?updateMask=mtlsPolicy",
                             R"({"mtlsPolicy":{"clientValidationMode":"REJECT_INVALID",
                                 "clientValidationTrustConfig":"tc"}})");
  ASSERT_EQ(relinked.first, 200) << error_message(relinked.second);
  const auto in_use = rest(api, "DELETE", kTrustConfigs + "/tc");
  EXPECT_EQ(in_use.first, 400);
  EXPECT_NE(error_message(in_use.second).find("FAILED_PRECONDITION: "), std::string::npos);
  const auto deleted = rest(api, "DELETE", kPolicies + "/pol");
  ASSERT_EQ(deleted.first, 200) << error_message(deleted.second);
  EXPECT_EQ(deleted.second.at("response").at("@type").as_string(),
            "type.googleapis.com/google.protobuf.Empty");
  EXPECT_EQ(rest(api, "DELETE", kTrustConfigs + "/tc").first, 200);
  EXPECT_EQ(rest(api, "GET", kTrustConfigs).second, boost::json::object{});
}

}  // namespace
}  // namespace albemu::cli_testing::gcloud_mtls
