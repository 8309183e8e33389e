// albemu's Compute Engine v1 API through the real `albemu serve --api`: resource round trips,
// operations, Google's error shapes, writes that change the traffic, persistence across a
// restart with --state-dir, and the API token.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <csignal>
#include <regex>
#include <string>

#include "tests/integration/support/cli_serve.h"
#include "tests/integration/support/test_backend.h"
#include "tests/proxy/tls_test_support.h"

namespace albemu::cli_testing {
namespace {

const std::string kRegion = "/compute/v1/projects/p/regions/us-central1";
const std::string kRegionRoot =
    "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1";

struct ApiResult {
  int status = 0;
  boost::json::object body;
};

ApiResult call(const std::string& api, const std::string& method, const std::string& target,
               const std::string& body = {},
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  auto all_headers = headers;
  if (!body.empty()) all_headers.emplace_back("Content-Type", "application/json");
  const HttpResult result = http_request(api, method, target, all_headers, body);
  ApiResult out{result.status, {}};
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(result.body, ec);
  if (!ec && parsed.is_object()) out.body = parsed.as_object();
  return out;
}

std::string text(const boost::json::object& object, std::string_view field) {
  const auto* value = object.if_contains(field);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

/// The first error detail's reason of a Google error body.
std::string reason(const ApiResult& result) {
  return text(result.body.at("error").at("errors").at(0).as_object(), "reason");
}
std::string message(const ApiResult& result) {
  return text(result.body.at("error").as_object(), "message");
}

/// NEG -> backend service -> URL map -> HTTP proxy -> forwarding rule "rule" on 127.0.0.1,
/// serving Cloud Run service `service` (the built-in stand-in). Asserts every write.
void build_load_balancer(const std::string& api, const std::string& service) {
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"/networkEndpointGroups",
       R"({"name":"neg","networkEndpointType":"SERVERLESS","cloudRun":{"service":")" + service +
           R"("}})"},
      {"/backendServices",
       R"({"name":"bs","loadBalancingScheme":"INTERNAL_MANAGED","protocol":"HTTP",
           "backends":[{"group":"regions/us-central1/networkEndpointGroups/neg"}]})"},
      {"/urlMaps", R"({"name":"map","defaultService":"bs"})"},
      {"/targetHttpProxies", R"({"name":"proxy","urlMap":"regions/us-central1/urlMaps/map"})"},
      {"/forwardingRules",
       R"({"name":"rule","loadBalancingScheme":"INTERNAL_MANAGED","IPAddress":"127.0.0.1",
           "portRange":"80","target":")" +
           kRegionRoot + R"(/targetHttpProxies/proxy"})"},
  };
  for (const auto& [collection, body] : writes) {
    const ApiResult result = call(api, "POST", kRegion + collection, body);
    ASSERT_EQ(result.status, 200) << collection << ": " << boost::json::serialize(result.body);
    ASSERT_EQ(text(result.body, "status"), "DONE");
  }
}

/// The Cloud Run service the stand-in behind forwarding rule "rule" says it is.
std::string served_service(ServeProcess& serve) {
  serve.wait_ready();  // the ready file is rewritten after each reload
  const HttpResult result = http_request(serve.listener("rule"), "GET", "/anything");
  if (result.status != 200) return "status " + std::to_string(result.status);
  return text(boost::json::parse(result.body).as_object(), "service");
}

TEST(ApiCompute, InsertGetListDeleteRoundTripWithOutputOnlyFields) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();

  const ApiResult inserted = call(api, "POST", kRegion + "/networkEndpointGroups",
                                  R"({"name":"neg","networkEndpointType":"SERVERLESS",
                                      "cloudRun":{"service":"hello"},"id":"42","kind":"x"})");
  ASSERT_EQ(inserted.status, 200) << boost::json::serialize(inserted.body);
  const boost::json::object& operation = inserted.body;
  EXPECT_EQ(text(operation, "kind"), "compute#operation");
  EXPECT_EQ(text(operation, "operationType"), "insert");
  EXPECT_EQ(text(operation, "status"), "DONE");
  EXPECT_EQ(operation.at("progress").to_number<int>(), 100);
  EXPECT_EQ(text(operation, "targetLink"), kRegionRoot + "/networkEndpointGroups/neg");
  EXPECT_EQ(text(operation, "region"), kRegionRoot);
  EXPECT_TRUE(text(operation, "selfLink").starts_with(kRegionRoot + "/operations/operation-"));
  for (const char* field : {"insertTime", "startTime", "endTime", "user", "id", "name"})
    EXPECT_FALSE(text(operation, field).empty()) << field;

  const ApiResult got = call(api, "GET", kRegion + "/networkEndpointGroups/neg");
  ASSERT_EQ(got.status, 200);
  const boost::json::object& neg = got.body;
  EXPECT_EQ(text(neg, "kind"), "compute#networkEndpointGroup");
  EXPECT_TRUE(std::regex_match(text(neg, "id"), std::regex("[1-9][0-9]{15,19}")));
  EXPECT_NE(text(neg, "id"), "42");  // the server owns ids
  EXPECT_EQ(text(operation, "targetId"), text(neg, "id"));
  EXPECT_TRUE(
      std::regex_match(text(neg, "creationTimestamp"),
                       std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)")));
  EXPECT_EQ(text(neg, "selfLink"), kRegionRoot + "/networkEndpointGroups/neg");
  EXPECT_EQ(text(neg, "region"), kRegionRoot);
  EXPECT_EQ(text(neg, "networkEndpointType"), "SERVERLESS");
  EXPECT_EQ(text(neg.at("cloudRun").as_object(), "service"), "hello");
  EXPECT_FALSE(neg.contains("project"));

  const ApiResult by_operation =
      call(api, "GET", kRegion + "/operations/" + text(operation, "name"));
  ASSERT_EQ(by_operation.status, 200);
  EXPECT_EQ(by_operation.body, operation);
  const ApiResult waited =
      call(api, "POST", kRegion + "/operations/" + text(operation, "name") + "/wait");
  ASSERT_EQ(waited.status, 200);
  EXPECT_EQ(text(waited.body, "status"), "DONE");
  EXPECT_EQ(call(api, "GET", kRegion + "/operations/operation-nope").status, 404);

  const ApiResult listed = call(api, "GET", kRegion + "/networkEndpointGroups");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(text(listed.body, "kind"), "compute#networkEndpointGroupList");
  EXPECT_EQ(text(listed.body, "selfLink"), kRegionRoot + "/networkEndpointGroups");
  ASSERT_EQ(listed.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(listed.body.at("items").at(0).as_object(), neg);
  // The same resource without the /compute/v1 prefix.
  EXPECT_EQ(call(api, "GET", "/projects/p/regions/us-central1/networkEndpointGroups/neg").body,
            neg);

  const ApiResult deleted = call(api, "DELETE", kRegion + "/networkEndpointGroups/neg");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(text(deleted.body, "operationType"), "delete");
  const ApiResult gone = call(api, "GET", kRegion + "/networkEndpointGroups/neg");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(reason(gone), "notFound");
  EXPECT_EQ(
      message(gone),
      "The resource 'projects/p/regions/us-central1/networkEndpointGroups/neg' was not found");
  EXPECT_TRUE(
      call(api, "GET", kRegion + "/networkEndpointGroups").body.at("items").as_array().empty());
}

TEST(ApiCompute, ErrorsUseGoogleShapesAndChangeNothing) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  build_load_balancer(api, "hello");

  const ApiResult duplicate =
      call(api, "POST", kRegion + "/urlMaps", R"({"name":"map","defaultService":"bs"})");
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(reason(duplicate), "alreadyExists");
  EXPECT_EQ(message(duplicate),
            "The resource 'projects/p/regions/us-central1/urlMaps/map' already exists");
  EXPECT_EQ(duplicate.body.at("error").at("code").to_number<int>(), 409);
  EXPECT_EQ(text(duplicate.body.at("error").at("errors").at(0).as_object(), "domain"), "global");

  const ApiResult missing =
      call(api, "POST", kRegion + "/urlMaps", R"({"name":"map2","defaultService":"nope"})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(reason(missing), "notFound");
  EXPECT_EQ(message(missing),
            "The resource 'projects/p/regions/us-central1/backendServices/nope' was not found");

  const ApiResult in_use = call(api, "DELETE", kRegion + "/networkEndpointGroups/neg");
  EXPECT_EQ(in_use.status, 400);
  EXPECT_EQ(reason(in_use), "resourceInUseByAnotherResource");
  EXPECT_EQ(message(in_use),
            "The network_endpoint_group resource "
            "'projects/p/regions/us-central1/networkEndpointGroups/neg' is already being used by "
            "'projects/p/regions/us-central1/backendServices/bs'");
  const ApiResult map_in_use = call(api, "DELETE", kRegion + "/urlMaps/map");
  EXPECT_EQ(reason(map_in_use), "resourceInUseByAnotherResource");
  EXPECT_NE(
      message(map_in_use)
          .find(
              "is already being used by 'projects/p/regions/us-central1/targetHttpProxies/proxy'"),
      std::string::npos);

  const ApiResult stale = call(api, "PATCH", kRegion + "/urlMaps/map",
                               R"({"fingerprint":"AAAAAAAAAAA=","description":"x"})");
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(reason(stale), "conditionNotMet");

  const ApiResult invalid =
      call(api, "POST", kRegion + "/networkEndpointGroups",
           R"({"name":"bad","networkEndpointType":"SERVERLESS","cloudRun":{"tag":"x"}})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(reason(invalid), "invalid");
  EXPECT_NE(message(invalid).find("networkEndpointGroups[bad]"), std::string::npos)
      << message(invalid);

  const ApiResult bad_port =
      call(api, "PATCH", kRegion + "/forwardingRules/rule", R"({"portRange":"80-90"})");
  EXPECT_EQ(bad_port.status, 400);
  EXPECT_EQ(reason(bad_port), "invalid");

  // None of the refused writes changed anything.
  EXPECT_EQ(call(api, "GET", kRegion + "/urlMaps").body.at("items").as_array().size(), 1u);
  EXPECT_EQ(call(api, "GET", kRegion + "/networkEndpointGroups/bad").status, 404);
  EXPECT_EQ(text(call(api, "GET", kRegion + "/forwardingRules/rule").body, "portRange"), "80");
  EXPECT_EQ(served_service(serve), "hello");
}

TEST(ApiCompute, WritesChangeTheTrafficThroughTheReloadPath) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  build_load_balancer(api, "hello");
  EXPECT_EQ(served_service(serve), "hello");

  // A second backend, then the URL map's default service swapped to it (with its fingerprint).
  ASSERT_EQ(
      call(api, "POST", kRegion + "/networkEndpointGroups",
           R"({"name":"neg2","networkEndpointType":"SERVERLESS","cloudRun":{"service":"other"}})")
          .status,
      200);
  ASSERT_EQ(
      call(
          api, "POST", kRegion + "/backendServices",
          R"({"name":"bs2","loadBalancingScheme":"INTERNAL_MANAGED","backends":[{"group":"neg2"}]})")
          .status,
      200);
  const std::string fingerprint =
      text(call(api, "GET", kRegion + "/urlMaps/map").body, "fingerprint");
  ASSERT_FALSE(fingerprint.empty());
  const ApiResult patched =
      call(api, "PATCH", kRegion + "/urlMaps/map",
           R"({"defaultService":"bs2","fingerprint":")" + fingerprint + R"("})");
  ASSERT_EQ(patched.status, 200) << boost::json::serialize(patched.body);
  EXPECT_EQ(served_service(serve), "other");
  const ApiResult map = call(api, "GET", kRegion + "/urlMaps/map");
  EXPECT_EQ(text(map.body, "defaultService"), kRegionRoot + "/backendServices/bs2");
  EXPECT_NE(text(map.body, "fingerprint"), fingerprint);

  // setUrlMap on the proxy, to a new map back to the first service.
  ASSERT_EQ(
      call(api, "POST", kRegion + "/urlMaps", R"({"name":"map-b","defaultService":"bs"})").status,
      200);
  const ApiResult set = call(api, "POST", kRegion + "/targetHttpProxies/proxy/setUrlMap",
                             R"({"urlMap":")" + kRegionRoot + R"(/urlMaps/map-b"})");
  ASSERT_EQ(set.status, 200);
  EXPECT_EQ(text(set.body, "operationType"), "setUrlMap");
  EXPECT_EQ(served_service(serve), "hello");

  // A Cloud Armor policy set on the backend service denies, and detaching it lets through.
  ASSERT_EQ(call(api, "POST", kRegion + "/securityPolicies",
                 R"json({"name":"deny-all","type":"CLOUD_ARMOR","rules":[
                     {"priority":1000,"action":"deny(403)",
                      "match":{"versionedExpr":"SRC_IPS_V1","config":{"srcIpRanges":["*"]}}},
                     {"priority":2147483647,"action":"allow",
                      "match":{"versionedExpr":"SRC_IPS_V1","config":{"srcIpRanges":["*"]}}}]})json")
                .status,
            200);
  ASSERT_EQ(call(api, "POST", kRegion + "/backendServices/bs/setSecurityPolicy",
                 R"({"securityPolicy":")" + kRegionRoot + R"(/securityPolicies/deny-all"})")
                .status,
            200);
  EXPECT_EQ(served_service(serve), "status 403");
  EXPECT_EQ(reason(call(api, "DELETE", kRegion + "/securityPolicies/deny-all")),
            "resourceInUseByAnotherResource");
  ASSERT_EQ(call(api, "POST", kRegion + "/backendServices/bs/setSecurityPolicy",
                 R"({"securityPolicy":""})")
                .status,
            200);
  EXPECT_EQ(served_service(serve), "hello");
  EXPECT_FALSE(call(api, "GET", kRegion + "/backendServices/bs").body.contains("securityPolicy"));
  EXPECT_GE(serve.generation(), 11);
}

TEST(ApiCompute, StateDirKeepsResourcesAcrossARestart) {
  TempDir state;
  std::string id;
  std::string created;
  {
    ServeProcess serve({"--api", "127.0.0.1:0", "--state-dir", state.path()});
    ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
    build_load_balancer(serve.api(), "hello");
    // Compute accepts a backend service without backends (the guide adds the NEG later).
    ASSERT_EQ(call(serve.api(), "POST", kRegion + "/backendServices",
                   R"({"name":"empty","loadBalancingScheme":"INTERNAL_MANAGED"})")
                  .status,
              200);
    const ApiResult bs = call(serve.api(), "GET", kRegion + "/backendServices/bs");
    id = text(bs.body, "id");
    created = text(bs.body, "creationTimestamp");
    serve.process().signal(SIGTERM);
    ASSERT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0) << serve.process().err();
  }
  EXPECT_NE(read_file(state.file("api-state.yaml")).find("\"backendServices\""), std::string::npos);
  // The document may hold certificates' private keys: owner-only.
  struct stat info {};
  ASSERT_EQ(::stat(state.file("api-state.yaml").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ServeProcess again({"--api", "127.0.0.1:0", "--state-dir", state.path()});
  ASSERT_TRUE(again.wait_ready()) << again.process().err();
  const ApiResult bs = call(again.api(), "GET", kRegion + "/backendServices/bs");
  ASSERT_EQ(bs.status, 200);
  EXPECT_EQ(text(bs.body, "id"), id);
  EXPECT_EQ(text(bs.body, "creationTimestamp"), created);
  EXPECT_EQ(served_service(again), "hello");
  EXPECT_EQ(call(again.api(), "GET", kRegion + "/backendServices/empty").status, 200);
  EXPECT_EQ(
      call(again.api(), "GET", kRegion + "/forwardingRules").body.at("items").as_array().size(),
      1u);
}

TEST(ApiCompute, HttpsLoadBalancerWithCertificatesFromTheApi) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  build_load_balancer(api, "hello");
  for (const char* name : {"cert-a", "cert-b"}) {
    const auto pem =
        albemu::testing::generate_self_signed("test.example.com", {"test.example.com"});
    const boost::json::object cert{
        {"name", name}, {"certificate", pem.certificate_pem}, {"privateKey", pem.private_key_pem}};
    ASSERT_EQ(call(api, "POST", kRegion + "/sslCertificates", boost::json::serialize(cert)).status,
              200);
  }
  const ApiResult cert = call(api, "GET", kRegion + "/sslCertificates/cert-a");
  EXPECT_EQ(text(cert.body, "type"), "SELF_MANAGED");
  EXPECT_TRUE(text(cert.body, "certificate").starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_FALSE(cert.body.contains("privateKey"));  // compute never returns it
  EXPECT_TRUE(std::regex_match(text(cert.body, "expireTime"), std::regex(R"(\d{4}-\d\d-\d\dT.*)")));
  EXPECT_EQ(cert.body.at("subjectAlternativeNames").at(0).as_string(), "test.example.com");

  ASSERT_EQ(
      call(
          api, "POST", kRegion + "/targetHttpsProxies",
          R"({"name":"sproxy","urlMap":"map","sslCertificates":["regions/us-central1/sslCertificates/cert-a"]})")
          .status,
      200);
  ASSERT_EQ(
      call(api, "POST", kRegion + "/forwardingRules",
           R"({"name":"srule","loadBalancingScheme":"INTERNAL_MANAGED","IPAddress":"127.0.0.1",
                     "portRange":"443","target":"regions/us-central1/targetHttpsProxies/sproxy"})")
          .status,
      200);
  ASSERT_TRUE(serve.wait_ready());
  const CommandResult curl = run({"/usr/bin/curl", "-sk", "--max-time", "10",
                                  "https://127.0.0.1:" + serve.port("srule") + "/x"});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(text(boost::json::parse(curl.out).as_object(), "service"), "hello");

  const ApiResult in_use = call(api, "DELETE", kRegion + "/sslCertificates/cert-a");
  EXPECT_EQ(reason(in_use), "resourceInUseByAnotherResource");
  const ApiResult swapped =
      call(api, "POST", kRegion + "/targetHttpsProxies/sproxy/setSslCertificates",
           R"({"sslCertificates":["regions/us-central1/sslCertificates/cert-b"]})");
  ASSERT_EQ(swapped.status, 200);
  EXPECT_EQ(text(swapped.body, "operationType"), "setSslCertificates");
  EXPECT_EQ(call(api, "DELETE", kRegion + "/sslCertificates/cert-a").status, 200);

  // gcloud's `list` without --regions reads the aggregated list.
  const ApiResult aggregated =
      call(api, "GET", "/compute/v1/projects/p/aggregated/sslCertificates");
  ASSERT_EQ(aggregated.status, 200);
  EXPECT_EQ(text(aggregated.body, "kind"), "compute#sslCertificateAggregatedList");
  const auto& scoped =
      aggregated.body.at("items").at("regions/us-central1").at("sslCertificates").as_array();
  ASSERT_EQ(scoped.size(), 1u);
  EXPECT_EQ(text(scoped.at(0).as_object(), "name"), "cert-b");
}

TEST(ApiCompute, CloudRunServicesGetAStandInOrADeployedUrl) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  // Nothing declares "hello": the built-in stand-in answers for it.
  build_load_balancer(api, "hello");
  EXPECT_EQ(served_service(serve), "hello");

  // Deployed to a real backend: the traffic goes there.
  albemu::testing::TestBackend backend("hello-container");
  const std::string services = "/albemu/v1/projects/p/locations/us-central1/services";
  const ApiResult deployed =
      call(api, "POST", services, R"({"name":"hello","url":")" + backend.url() + R"("})");
  ASSERT_EQ(deployed.status, 200) << boost::json::serialize(deployed.body);
  EXPECT_EQ(text(deployed.body, "url"), backend.url());
  const HttpResult through = http_request(serve.listener("rule"), "GET", "/deployed");
  EXPECT_EQ(through.status, 200);
  EXPECT_TRUE(through.body.starts_with("GET /deployed")) << through.body;
  EXPECT_EQ(backend.requests_for("/deployed"), 1);
  EXPECT_EQ(call(api, "GET", services).body.at("services").as_array().size(), 1u);

  // Removed again: back to the stand-in.
  EXPECT_EQ(call(api, "DELETE", services + "/hello").status, 200);
  EXPECT_EQ(served_service(serve), "hello");
  EXPECT_EQ(call(api, "GET", services + "/hello").status, 404);
}

TEST(ApiCompute, TokenIsRequiredWhenSet) {
  ServeProcess serve({"--api", "127.0.0.1:0"}, {}, {{"ALBEMU_API_TOKEN", "s3cret"}});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  const ApiResult none = call(api, "GET", kRegion + "/urlMaps");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body.at("error").at("code").to_number<int>(), 401);
  EXPECT_EQ(call(api, "GET", kRegion + "/urlMaps", {}, {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_EQ(call(api, "GET", kRegion + "/urlMaps", {}, {{"Authorization", "Bearer s3cret"}}).status,
            200);

  // Without a token, any bearer token (a client's dummy credentials) or none is accepted.
  ServeProcess open({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(open.wait_ready()) << open.process().err();
  EXPECT_EQ(call(open.api(), "GET", kRegion + "/urlMaps").status, 200);
  EXPECT_EQ(call(open.api(), "GET", kRegion + "/urlMaps", {}, {{"Authorization", "Bearer ya29.x"}})
                .status,
            200);

  // A browser's request (it carries Origin) is refused, so a web page cannot drive the API.
  const ApiResult from_page = call(open.api(), "POST", std::string(kRegion) + "/backendServices",
                                   R"({"name":"evil","loadBalancingScheme":"INTERNAL_MANAGED"})",
                                   {{"Origin", "http://evil.example"}});
  EXPECT_EQ(from_page.status, 403);
  EXPECT_EQ(call(open.api(), "GET", kRegion + "/backendServices/evil").status, 404);
}

TEST(ApiCompute, NamesFromConfigFilesAreTakenAndReferenceable) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("lb.yaml"), "--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  const ApiResult taken =
      call(api, "POST", kRegion + "/urlMaps", R"({"name":"map","defaultService":"bs"})");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(reason(taken), "alreadyExists");
  // An API URL map on the file's backend service, behind an API proxy and rule.
  ASSERT_EQ(
      call(api, "POST", kRegion + "/urlMaps", R"({"name":"api-map","defaultService":"bs"})").status,
      200);
  ASSERT_EQ(call(api, "POST", kRegion + "/targetHttpProxies",
                 R"({"name":"api-proxy","urlMap":"api-map"})")
                .status,
            200);
  const ApiResult rule =
      call(api, "POST", kRegion + "/forwardingRules",
           R"({"name":"api-rule","loadBalancingScheme":"INTERNAL_MANAGED","IPAddress":"127.0.0.1",
                                  "portRange":"81","target":"regions/us-central1/targetHttpProxies/api-proxy"})");
  ASSERT_EQ(rule.status, 200) << boost::json::serialize(rule.body);
  ASSERT_TRUE(serve.wait_ready());
  const HttpResult result = http_request(serve.listener("api-rule"), "GET", "/login/x");
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(text(boost::json::parse(result.body).as_object(), "service"), "login");
  // File-defined resources are not the API's to delete.
  EXPECT_EQ(call(api, "DELETE", kRegion + "/urlMaps/map").status, 400);
}

}  // namespace
}  // namespace albemu::cli_testing
