// `albemu gcloud` against a real `albemu serve --api`: Google's guide replayed from its own
// command lines (tests/integration/data/gcp_guide_commands.sh) and checked with curl, gcloud's
// output and error formats, and URL map export/validate/import.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/support/cli_serve.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::cli_testing {
namespace {

const std::string kRoot = "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/";

/// `albemu gcloud ARGS...` against `api` (none: no API flags), in project p by default.
CommandResult gcloud(const std::string& api, std::vector<std::string> args) {
  std::vector<std::string> argv{albemu_binary(), "gcloud"};
  // Global flags may come first; a later --project in `args` wins.
  if (!api.empty()) argv.insert(argv.end(), {"--api-endpoint", "http://" + api, "--project=p"});
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

/// Runs `script` with bash, `albemu` on the PATH and `env` set.
CommandResult run_script(const std::string& script, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{"/usr/bin/env"};
  const std::string bin = std::filesystem::path(albemu_binary()).parent_path().string();
  const char* path = std::getenv("PATH");
  argv.push_back("PATH=" + bin + ":" + (path != nullptr ? path : "/usr/bin:/bin"));
  for (const auto& [name, value] : env) argv.push_back(name + "=" + value);
  argv.insert(argv.end(), {"bash", script});
  return run(argv, std::chrono::seconds(120));
}

/// Waits until the ready file lists `rule`; its port, or "" at the deadline.
std::string rule_port(ServeProcess& serve, const std::string& rule) {
  std::string port;
  poll_until([&] {
    if (!serve.wait_ready()) return false;
    try {
      port = serve.port(rule);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  return port;
}

/// A config item of GET /config by collection and name.
boost::json::object config_item(const ServeProcess& serve, const std::string& collection,
                                const std::string& name) {
  const auto config = serve.config();
  if (const auto* items = config.if_contains(collection))
    for (const auto& item : items->as_array())
      if (item.as_object().at("name").as_string() == name) return item.as_object();
  return {};
}

TEST(CliGcloud, GooglesGuideReplayedFromItsCommandLines) {
  ASSERT_TRUE(std::filesystem::exists(source_path("certs/out/server.crt")))
      << "run certs/generate.sh (make test does) before this test";
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  std::map<std::string, std::string> env = {
      {"ALBEMU_API", "http://" + serve.api()},
      {"CLOUDSDK_CORE_PROJECT", "guide-project"},
      {"REGION", "us-central1"},
      {"CLOUD_RUN_SERVICE_NAME", "helloworld"},
      {"IMAGE_URL", "us-docker.pkg.dev/cloudrun/container/hello"},
      {"SERVERLESS_NEG_NAME", "helloworld-serverless-neg"},
      {"SERVERLESS_NEG_MASK_NAME", "helloworld-mask-neg"},
      {"BACKEND_SERVICE_NAME", "helloworld-backend-service"},
      {"URL_MAP_NAME", "helloworld-url-map"},
      {"SSL_CERTIFICATE_NAME", "helloworld-ssl-cert"},
      {"CRT_FILE_PATH", source_path("certs/out/server.crt")},
      {"KEY_FILE_PATH", source_path("certs/out/server.key")},
      {"TARGET_HTTP_PROXY_NAME", "helloworld-http-proxy"},
      {"TARGET_HTTPS_PROXY_NAME", "helloworld-https-proxy"},
      {"HTTP_FORWARDING_RULE_NAME", "helloworld-http-fw-rule"},
      {"HTTPS_FORWARDING_RULE_NAME", "helloworld-https-fw-rule"},
      {"HTTP_KEEP_ALIVE_TIMEOUT_SEC", "120"},
  };
  const std::string script = source_path("tests/integration/data/gcp_guide_commands.sh");
  const CommandResult setup = run_script(script, env);
  ASSERT_EQ(setup.exit_code, 0) << setup.out << setup.err;
  const std::string root = "https://www.googleapis.com/compute/v1/projects/guide-project/";
  EXPECT_NE(setup.err.find("Created [" + root + "global/networks/lb-network].\n"),
            std::string::npos)
      << setup.err;
  EXPECT_NE(setup.err.find("Created [" + root +
                           "regions/us-central1/backendServices/helloworld-backend-service].\n"),
            std::string::npos);
  EXPECT_NE(setup.err.find("Updated [" + root +
                           "regions/us-central1/backendServices/helloworld-backend-service].\n"),
            std::string::npos);
  EXPECT_NE(setup.err.find("Created network endpoint group [helloworld-mask-neg].\n"),
            std::string::npos);
  EXPECT_NE(setup.err.find("Deploying container to Cloud Run service [helloworld] in project "
                           "[guide-project] region [us-central1]\n"),
            std::string::npos);
  EXPECT_NE(setup.out.find("NAME                        BACKENDS  PROTOCOL\n"
                           "helloworld-backend-service            HTTP\n"),
            std::string::npos)
      << setup.out;
  EXPECT_NE(setup.out.find("NAME                DEFAULT_SERVICE\n"
                           "helloworld-url-map  backendServices/helloworld-backend-service\n"),
            std::string::npos);

  // curl IP_ADDRESS
  const std::string http_port = rule_port(serve, "helloworld-http-fw-rule");
  ASSERT_FALSE(http_port.empty()) << serve.process().err();
  const auto http = run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + http_port});
  ASSERT_EQ(http.exit_code, 0) << http.err;
  EXPECT_EQ(service_of(http.out), "helloworld");

  // curl -k -s 'https://TEST_DOMAIN_URL:443' --connect-to TEST_DOMAIN_URL:443:IP_ADDRESS:443
  const std::string https_port = rule_port(serve, "helloworld-https-fw-rule");
  ASSERT_FALSE(https_port.empty());
  const std::string authority = "test.example.com:" + https_port;
  const auto https = run({"/usr/bin/curl", "-k", "-s", "https://" + authority + "/", "--connect-to",
                          authority + ":127.0.0.1:" + https_port});
  ASSERT_EQ(https.exit_code, 0) << https.err;
  EXPECT_EQ(service_of(https.out), "helloworld");

  // The keepalive updates reached the served config.
  for (const auto& [collection, name] :
       {std::pair<std::string, std::string>{"targetHttpProxies", "helloworld-http-proxy"},
        {"targetHttpsProxies", "helloworld-https-proxy"}}) {
    const auto proxy = config_item(serve, collection, name);
    ASSERT_TRUE(proxy.contains("httpKeepAliveTimeoutSec")) << boost::json::serialize(proxy);
    EXPECT_EQ(proxy.at("httpKeepAliveTimeoutSec").to_number<int>(), 120) << name;
  }

  // Deleting the NEG while the backend service uses it fails as compute does.
  const std::string api = serve.api();
  const CommandResult early =
      run({albemu_binary(), "gcloud", "compute", "network-endpoint-groups", "delete",
           "helloworld-serverless-neg", "--region=us-central1", "--project", "guide-project",
           "--api-endpoint", "http://" + api});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_EQ(early.err,
            "ERROR: (gcloud.compute.network-endpoint-groups.delete) Could not fetch resource:\n"
            " - The network_endpoint_group resource "
            "'projects/guide-project/regions/us-central1/networkEndpointGroups/"
            "helloworld-serverless-neg' is already being used by "
            "'projects/guide-project/regions/us-central1/backendServices/"
            "helloworld-backend-service'\n");
  EXPECT_EQ(service_of(run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + http_port}).out),
            "helloworld");

  // The guide's order: remove-backend, then delete.
  env["GUIDE_PART"] = "cleanup";
  const CommandResult cleanup = run_script(script, env);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_NE(cleanup.err.find("Deleted network endpoint group [helloworld-serverless-neg].\n"),
            std::string::npos)
      << cleanup.err;
  const CommandResult gone =
      gcloud(api, {"compute", "network-endpoint-groups", "describe", "helloworld-serverless-neg",
                   "--region", "us-central1", "--project=guide-project"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("was not found"), std::string::npos) << gone.err;
  const CommandResult service =
      gcloud(api, {"compute", "backend-services", "describe", "helloworld-backend-service",
                   "--region=us-central1", "--project=guide-project", "--format=json"});
  ASSERT_EQ(service.exit_code, 0) << service.err;
  EXPECT_FALSE(boost::json::parse(service.out).as_object().contains("backends")) << service.out;
}

TEST(CliGcloud, ParseErrorsExitTwoLikeGcloud) {
  const CommandResult flag = gcloud("", {"compute", "networks", "create", "n", "--bogus=1"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(flag.err.starts_with(
      "ERROR: (gcloud.compute.networks.create) unrecognized arguments: --bogus=1\n"))
      << flag.err;

  const CommandResult choice = gcloud("", {"compute", "frobnicate", "create"});
  EXPECT_EQ(choice.exit_code, 2);
  EXPECT_TRUE(choice.err.starts_with("ERROR: (gcloud.compute) Invalid choice: 'frobnicate'."))
      << choice.err;

  const CommandResult name =
      gcloud("", {"compute", "url-maps", "create", "--region=r", "--default-service=bs"});
  EXPECT_EQ(name.exit_code, 2);
  EXPECT_EQ(name.err,
            "ERROR: (gcloud.compute.url-maps.create) argument NAME: Must be specified.\n");

  const CommandResult required = gcloud("", {"compute", "url-maps", "create", "m", "--region=r"});
  EXPECT_EQ(required.exit_code, 2);
  EXPECT_NE(required.err.find("argument --default-service: Must be specified."), std::string::npos);

  const CommandResult group = gcloud("", {"compute", "url-maps"});
  EXPECT_EQ(group.exit_code, 2);
  EXPECT_NE(group.err.find("Command name argument expected."), std::string::npos);

  const CommandResult help = gcloud("", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("compute forwarding-rules create NAME"), std::string::npos);

  // Nothing listens on port 1: a clear error, exit 1.
  const CommandResult unreachable = run({albemu_binary(), "gcloud", "compute", "networks", "create",
                                         "n", "--api-endpoint=http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach albemu's compute API at http://127.0.0.1:1"),
            std::string::npos)
      << unreachable.err;
}

TEST(CliGcloud, OutputMatchesGcloudAndMissingResourcesAreNotFound) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();

  const CommandResult network =
      gcloud(api, {"compute", "networks", "create", "lb-network", "--subnet-mode", "custom"});
  ASSERT_EQ(network.exit_code, 0) << network.err;
  EXPECT_TRUE(network.err.starts_with(
      "Created [https://www.googleapis.com/compute/v1/projects/p/global/networks/lb-network].\n"))
      << network.err;
  EXPECT_EQ(network.out,
            "NAME        SUBNET_MODE  BGP_ROUTING_MODE  IPV4_RANGE  GATEWAY_IPV4\n"
            "lb-network  CUSTOM       REGIONAL\n");

  const CommandResult subnet =
      gcloud(api, {"compute", "networks", "subnets", "create", "lb-subnet", "--network",
                   "lb-network", "--range=10.1.2.0/24", "--region=us-central1"});
  ASSERT_EQ(subnet.exit_code, 0) << subnet.err;
  EXPECT_EQ(subnet.err, "Created [" + kRoot + "subnetworks/lb-subnet].\n");
  EXPECT_EQ(subnet.out,
            "NAME       REGION       NETWORK     RANGE        STACK_TYPE\n"
            "lb-subnet  us-central1  lb-network  10.1.2.0/24  IPV4_ONLY\n");

  // The region from the environment, as gcloud's compute/region property.
  const CommandResult neg = run(
      {"/usr/bin/env", "CLOUDSDK_COMPUTE_REGION=us-central1", albemu_binary(), "gcloud", "compute",
       "network-endpoint-groups", "create", "neg", "--network-endpoint-type=serverless",
       "--cloud-run-service=hello", "--project=p", "--api-endpoint=http://" + api});
  ASSERT_EQ(neg.exit_code, 0) << neg.err;
  EXPECT_EQ(neg.err, "Created network endpoint group [neg].\n");
  const CommandResult described = gcloud(api, {"compute", "network-endpoint-groups", "describe",
                                               "neg", "--region=us-central1", "--format=json"});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  const auto described_neg = boost::json::parse(described.out).as_object();
  EXPECT_EQ(described_neg.at("networkEndpointType").as_string(), "SERVERLESS");
  EXPECT_EQ(described_neg.at("cloudRun").at("service").as_string(), "hello");

  const CommandResult missing =
      gcloud(api, {"compute", "url-maps", "describe", "nope", "--region=us-central1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err,
            "ERROR: (gcloud.compute.url-maps.describe) Could not fetch resource:\n"
            " - The resource 'projects/p/regions/us-central1/urlMaps/nope' was not found\n");

  const CommandResult no_service = gcloud(api, {"compute", "url-maps", "create", "map",
                                                "--default-service=nope", "--region=us-central1"});
  EXPECT_EQ(no_service.exit_code, 1);
  EXPECT_EQ(no_service.err,
            "ERROR: (gcloud.compute.url-maps.create) Could not fetch resource:\n"
            " - The resource 'projects/p/regions/us-central1/backendServices/nope' was not "
            "found\n");

  const CommandResult not_attached =
      gcloud(api, {"compute", "backend-services", "remove-backend", "nope",
                   "--network-endpoint-group=neg", "--region=us-central1"});
  EXPECT_EQ(not_attached.exit_code, 1);
  EXPECT_NE(not_attached.err.find("was not found"), std::string::npos);

  const CommandResult no_region =
      gcloud(api, {"compute", "backend-services", "create", "bs", "--protocol=HTTP"});
  EXPECT_EQ(no_region.exit_code, 1);
  EXPECT_NE(no_region.err.find("Specify the [--region] flag"), std::string::npos);
}

/// Runs gcloud command lines (words split on spaces); stops at the first failure.
void run_all(const std::string& api, const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    std::vector<std::string> words;
    std::size_t start = 0;
    while (start < line.size()) {
      const std::size_t end = line.find(' ', start);
      words.push_back(line.substr(start, end - start));
      start = end == std::string::npos ? line.size() : end + 1;
    }
    const CommandResult result = gcloud(api, words);
    ASSERT_EQ(result.exit_code, 0) << line << "\n" << result.err;
  }
}

TEST(CliGcloud, UrlMapExportValidateImportChangesRouting) {
  ServeProcess serve({"--api", "127.0.0.1:0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string api = serve.api();
  const std::string region = "--region=us-central1";
  run_all(
      api,
      {
          "run deploy svc-a --platform=managed --ingress=internal " + region,
          "run deploy svc-b --platform=managed --ingress=internal " + region,
          "compute networks create net --subnet-mode=custom",
          "compute networks subnets create sub --network=net --range=10.1.2.0/24 " + region,
          "compute networks subnets create proxy-only --purpose=REGIONAL_MANAGED_PROXY "
          "--role=ACTIVE "
          "--network=net --range=10.129.0.0/23 " +
              region,
          "compute network-endpoint-groups create neg-a --network-endpoint-type=serverless "
          "--cloud-run-service=svc-a " +
              region,
          "compute network-endpoint-groups create neg-b --network-endpoint-type=serverless "
          "--cloud-run-service=svc-b " +
              region,
          "compute backend-services create bs-a --load-balancing-scheme=INTERNAL_MANAGED "
          "--protocol=HTTP " +
              region,
          "compute backend-services create bs-b --load-balancing-scheme=INTERNAL_MANAGED "
          "--protocol=HTTP " +
              region,
          "compute backend-services add-backend bs-a --network-endpoint-group=neg-a " + region,
          "compute backend-services add-backend bs-b --network-endpoint-group=neg-b " + region,
          "compute url-maps create map --default-service=bs-a " + region,
          "compute target-http-proxies create proxy --url-map=map " + region,
          "compute forwarding-rules create rule --load-balancing-scheme=INTERNAL_MANAGED "
          "--network=net --subnet=sub --target-http-proxy=proxy --address=127.0.0.1 --ports=80 " +
              region,
      });
  if (HasFatalFailure()) return;
  const std::string port = rule_port(serve, "rule");
  ASSERT_FALSE(port.empty());
  const auto served = [&](const std::string& path) {
    return service_of(http_request("127.0.0.1:" + port, "GET", path).body);
  };
  EXPECT_EQ(served("/b/x"), "svc-a");

  TempDir dir;
  const CommandResult exported = gcloud(
      api, {"compute", "url-maps", "export", "map", region, "--destination", dir.file("map.yaml")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string yaml = read_file(dir.file("map.yaml"));
  EXPECT_NE(yaml.find("defaultService: " + kRoot + "backendServices/bs-a\n"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("name: map\n"), std::string::npos);
  EXPECT_EQ(yaml.find("selfLink"), std::string::npos);
  EXPECT_EQ(gcloud(api, {"compute", "url-maps", "export", "map", region}).out, yaml);

  const std::string routed = yaml + R"yaml(hostRules:
- hosts: ['*']
  pathMatcher: paths
pathMatchers:
- name: paths
  defaultService: regions/us-central1/backendServices/bs-a
  pathRules:
  - paths: ['/b/*']
    service: regions/us-central1/backendServices/bs-b
)yaml";
  write_file(dir.file("good.yaml"), routed +
                                        "tests:\n- host: example.com\n  path: /b/x\n  service: "
                                        "regions/us-central1/backendServices/bs-b\n");
  write_file(dir.file("bad.yaml"), routed +
                                       "tests:\n- host: example.com\n  path: /b/x\n  service: "
                                       "regions/us-central1/backendServices/bs-a\n");

  const CommandResult good =
      gcloud(api, {"compute", "url-maps", "validate", "--source", dir.file("good.yaml"), region});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("result:\n"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("loadSucceeded: true"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("testPassed: true"), std::string::npos) << good.out;
  const CommandResult bad =
      gcloud(api, {"compute", "url-maps", "validate", "--source=" + dir.file("bad.yaml"), region});
  ASSERT_EQ(bad.exit_code, 0) << bad.err;
  EXPECT_NE(bad.out.find("testPassed: false"), std::string::npos) << bad.out;
  EXPECT_EQ(served("/b/x"), "svc-a");  // validate changes nothing

  const CommandResult imported = gcloud(api, {"compute", "url-maps", "import", "map", "--source",
                                              dir.file("good.yaml"), region, "--quiet"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.err, "Updated [" + kRoot + "urlMaps/map].\n");
  EXPECT_TRUE(poll_until([&] { return served("/b/x") == "svc-b"; })) << served("/b/x");
  EXPECT_EQ(served("/a"), "svc-a");

  // Deployed again with a local URL: svc-b's traffic goes to that container.
  albemu::testing::TestBackend container("svc-b-container");
  const CommandResult deployed = gcloud(
      api, {"run", "deploy", "svc-b", "--image", "img", region, "--albemu-url", container.url()});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_NE(deployed.err.find("Service URL: " + container.url() + "\n"), std::string::npos)
      << deployed.err;
  EXPECT_EQ(http_request("127.0.0.1:" + port, "GET", "/b/deployed").status, 200);
  EXPECT_EQ(container.requests_for("/b/deployed"), 1);

  // --use-http2 deploys a service spoken to in h2c; deploying again without it turns it off.
  ASSERT_EQ(gcloud(api, {"run", "deploy", "svc-c", region, "--use-http2"}).exit_code, 0);
  const auto svc_c = [&] { return config_item(serve, "cloudRunServices", "svc-c"); };
  ASSERT_TRUE(svc_c().contains("useHttp2")) << boost::json::serialize(svc_c());
  EXPECT_EQ(svc_c().at("useHttp2"), true);
  ASSERT_EQ(gcloud(api, {"run", "deploy", "svc-c", region}).exit_code, 0);
  EXPECT_FALSE(svc_c().contains("useHttp2")) << boost::json::serialize(svc_c());

  // The exported fingerprint is stale now: importing the old file again is refused.
  const CommandResult stale = gcloud(api, {"compute", "url-maps", "import", "map", "--source",
                                           dir.file("map.yaml"), region, "--quiet"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_TRUE(stale.err.starts_with(
      "ERROR: (gcloud.compute.url-maps.import) Could not fetch resource:\n - "))
      << stale.err;
}

}  // namespace
}  // namespace albemu::cli_testing
