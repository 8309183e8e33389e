// validate_config(): the guide's complete config passes; references, regions, URL-map rules
// and duplicate names. Backends and frontends have their own files
// (validate_backends_test.cc, validate_frontends_test.cc).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config/load/loader.h"
#include "tests/config/validate_fixture.h"

namespace albemu::config {
namespace {

using namespace validate_fixture;  // NOLINT: builders shared by the validate tests

TEST(ValidateConfig, GuideConfigIsValid) {
  const ConfigErrors errors = validate_config(guide_config());
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateConfig, EmptyConfigIsValid) { EXPECT_TRUE(validate_config(model::Config{}).empty()); }

TEST(ValidateConfig, ResourcesWithoutProjectOrRegionUseTheConfigDefaults) {
  model::Config config = guide_config();
  // Explicit values equal to the defaults must resolve exactly like omitted ones.
  config.backend_services[0].project = "my-project";
  config.backend_services[0].region = "us-central1";
  config.url_maps[0].region = "us-central1";
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

// ------------------------------------------------------------------ references in URL maps

TEST(ValidateConfig, UnresolvedDefaultService) {
  model::Config config = guide_config();
  config.url_maps[0].default_service = ref("missing-backend");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].defaultService", "unresolved reference",
                    "backend service \"missing-backend\"", "project \"my-project\"",
                    "region \"us-central1\"");
}

TEST(ValidateConfig, UnresolvedRouteRuleService) {
  model::Config config = guide_config();
  config.url_maps[0].path_matchers[0].route_rules[2].service = ref("nope");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].pathMatchers[0].routeRules[2].service",
                    "unresolved reference", "\"nope\"");
}

TEST(ValidateConfig, EveryBackendServiceReferenceOfAUrlMapIsChecked) {
  model::Config config = guide_config();
  model::UrlMap& url_map = config.url_maps[0];
  url_map.default_service.reset();
  url_map.default_route_action = model::HttpRouteAction{};
  url_map.default_route_action->weighted_backend_services.push_back({ref("lb-backend"), 50, {}});
  url_map.default_route_action->weighted_backend_services.push_back({ref("gone-1"), 50, {}});
  url_map.path_matchers[0].default_service = ref("gone-2");
  url_map.path_matchers[1].path_rules[0].service = ref("gone-3");
  model::PathRule weighted;
  weighted.paths = {"/split/*"};
  weighted.route_action = model::HttpRouteAction{};
  weighted.route_action->weighted_backend_services.push_back({ref("gone-4"), 1, {}});
  url_map.path_matchers[1].path_rules.push_back(weighted);
  url_map.tests[0].service = ref("gone-5");

  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 5u) << format_errors(errors);
  expect_error(errors, kUrlMapFile,
               "urlMaps[lb-map].defaultRouteAction.weightedBackendServices[1].backendService",
               "\"gone-1\"");
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].pathMatchers[0].defaultService", "\"gone-2\"");
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].pathMatchers[1].pathRules[0].service",
               "\"gone-3\"");
  expect_error(
      errors, kUrlMapFile,
      "urlMaps[lb-map].pathMatchers[1].pathRules[1].routeAction.weightedBackendServices[0]."
      "backendService",
      "\"gone-4\"");
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].tests[0].service", "\"gone-5\"");
}

TEST(ValidateConfig, ReferenceToTheWrongCollection) {
  model::Config config = guide_config();
  config.url_maps[0].default_service = regional_ref("us-central1", "backendBuckets", "lb-backend");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].defaultService", "wrong resource type",
                    "backendBuckets", "backendServices");
}

TEST(ValidateConfig, ReferenceInAnotherProjectDoesNotResolve) {
  model::Config config = guide_config();
  config.url_maps[0].default_service =
      full_ref("other-project", "us-central1", "backendServices", "lb-backend");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].defaultService", "unresolved reference",
                    "project \"other-project\"", "declared in project \"my-project\"");
}

TEST(ValidateConfig, ShortNameResolvesInTheReferrersOwnRegion) {
  model::Config config = guide_config();
  // The map moves to europe-west1; its short names now look for backends there.
  config.url_maps[0].region = "europe-west1";
  config.target_http_proxies.clear();
  config.target_https_proxies.clear();
  config.forwarding_rules.clear();
  const ConfigErrors errors = validate_config(config);
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].defaultService", "unresolved reference",
               "region \"europe-west1\"",
               "declared in project \"my-project\", region \"us-central1\"");
}

TEST(ValidateConfig, EmptyReferencesAreLeftToTheLoader) {
  // The loader reports a missing required reference (or a malformed one) at the field and
  // leaves it empty; validation must not report it a second time.
  model::Config config = guide_config();
  config.target_http_proxies[0].url_map = model::ResourceRef{};
  config.forwarding_rules[1].target = model::ResourceRef{};
  config.backend_services[1].backends[0].group = model::ResourceRef{};
  config.url_maps[0].host_rules[1].path_matcher.clear();
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

// ------------------------------------------------------------------ regions

TEST(ValidateConfig, UrlMapReferencingBackendServiceInAnotherRegion) {
  model::Config config = guide_config();
  model::BackendService remote = backend_service("remote-backend", "remote-neg");
  remote.region = "europe-west1";
  config.backend_services.push_back(remote);
  model::NetworkEndpointGroup remote_neg = serverless_neg("remote-neg", "remote");
  remote_neg.region = "europe-west1";
  config.network_endpoint_groups.push_back(remote_neg);
  model::CloudRunService remote_service = config.cloud_run_services[0];
  remote_service.name = "remote";
  remote_service.region = "europe-west1";
  config.cloud_run_services.push_back(remote_service);
  config.url_maps[0].path_matchers[0].route_rules[1].service =
      regional_ref("europe-west1", "backendServices", "remote-backend");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].pathMatchers[0].routeRules[1].service",
                    "cross-region reference", "\"remote-backend\"", "region \"europe-west1\"",
                    "region \"us-central1\"");
}

TEST(ValidateConfig, ProxyReferencingUrlMapInAnotherRegion) {
  model::Config config = guide_config();
  config.target_https_proxies[0].url_map = regional_ref("europe-west1", "urlMaps", "lb-map");
  model::UrlMap copy = config.url_maps[0];
  copy.region = "europe-west1";
  copy.default_service = regional_ref("us-central1", "backendServices", "lb-backend");
  copy.host_rules.clear();
  copy.path_matchers.clear();
  copy.tests.clear();
  config.url_maps.push_back(copy);
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 2u) << format_errors(errors);
  expect_error(errors, kFrontendFile, "targetHttpsProxies[https-proxy].urlMap",
               "cross-region reference", "URL map \"lb-map\"", "region \"europe-west1\"");
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].defaultService", "cross-region reference",
               "region \"us-central1\"");
}

// ------------------------------------------------------------------ URL-map structure

TEST(ValidateConfig, HostRuleNamingUnknownPathMatcher) {
  model::Config config = guide_config();
  config.url_maps[0].host_rules[1].path_matcher = "no-such-matcher";
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].hostRules[1].pathMatcher",
                    "no path matcher named \"no-such-matcher\"");
}

TEST(ValidateConfig, DuplicatePathMatcherName) {
  model::Config config = guide_config();
  config.url_maps[0].path_matchers[1].name = "matcher";
  // hostRules[1] named "paths", which no longer exists.
  config.url_maps[0].host_rules[1].path_matcher = "matcher";
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].pathMatchers[1].name",
                    "duplicate path matcher", "pathMatchers[0]");
}

TEST(ValidateConfig, HostInTwoHostRules) {
  model::Config config = guide_config();
  config.url_maps[0].host_rules[1].hosts.push_back("Example.COM");
  expect_only_error(config, kUrlMapFile, "urlMaps[lb-map].hostRules[1].hosts[1]", "duplicate host",
                    "urlMaps[lb-map].hostRules[0].hosts[0]");
}

TEST(ValidateConfig, SameHostWithDifferentPortsIsNotADuplicate) {
  model::Config config = guide_config();
  config.url_maps[0].host_rules[1].hosts.push_back("example.com:8080");
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateConfig, HttpsRedirectOnUrlMapUsedByHttpsProxy) {
  model::Config config = guide_config();
  model::HttpRouteRule redirect_rule = route_rule(4, "/old", "lb-backend");
  redirect_rule.service.reset();
  redirect_rule.url_redirect = model::HttpRedirectAction{};
  redirect_rule.url_redirect->https_redirect = true;
  config.url_maps[0].path_matchers[0].route_rules.push_back(redirect_rule);
  expect_only_error(config, kUrlMapFile,
                    "urlMaps[lb-map].pathMatchers[0].routeRules[3].urlRedirect.httpsRedirect",
                    "httpsRedirect", "targetHttpsProxies[https-proxy]", kFrontendFile);
}

TEST(ValidateConfig, HttpsRedirectEverywhereInAUrlMapIsChecked) {
  model::Config config = guide_config();
  model::UrlMap& url_map = config.url_maps[0];
  model::HttpRedirectAction https_redirect;
  https_redirect.https_redirect = true;
  url_map.default_service.reset();
  url_map.default_url_redirect = https_redirect;
  url_map.path_matchers[1].default_service.reset();
  url_map.path_matchers[1].default_url_redirect = https_redirect;
  url_map.path_matchers[1].path_rules[0].service.reset();
  url_map.path_matchers[1].path_rules[0].url_redirect = https_redirect;
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 3u) << format_errors(errors);
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].defaultUrlRedirect.httpsRedirect",
               "targetHttpsProxies[https-proxy]");
  expect_error(errors, kUrlMapFile,
               "urlMaps[lb-map].pathMatchers[1].defaultUrlRedirect.httpsRedirect",
               "targetHttpsProxies[https-proxy]");
  expect_error(errors, kUrlMapFile,
               "urlMaps[lb-map].pathMatchers[1].pathRules[0].urlRedirect.httpsRedirect",
               "targetHttpsProxies[https-proxy]");
}

TEST(ValidateConfig, HttpsRedirectBehindOnlyHttpProxiesIsAllowed) {
  model::Config config = guide_config();
  // The GCP pattern: a second map that only redirects, used by the HTTP proxy alone.
  model::UrlMap redirect_map;
  redirect_map.origin = origin(kUrlMapFile);
  redirect_map.name = "redirect-map";
  redirect_map.default_url_redirect = model::HttpRedirectAction{};
  redirect_map.default_url_redirect->https_redirect = true;
  config.url_maps.push_back(redirect_map);
  config.target_http_proxies[0].url_map = ref("redirect-map");
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateConfig, MirrorPolicyTargetingServerlessBackend) {
  model::Config config = guide_config();
  model::HttpRouteAction action;
  action.request_mirror_policy = model::RequestMirrorPolicy{ref("admin-backend"), 10.0};
  config.url_maps[0].path_matchers[0].route_rules[2].route_action = action;
  expect_only_error(config, kUrlMapFile,
                    "urlMaps[lb-map].pathMatchers[0].routeRules[2].routeAction.requestMirrorPolicy."
                    "backendService",
                    "mirror", "\"admin-backend\"", "serverless");
}

TEST(ValidateConfig, MirrorPolicyToUnknownBackendIsReportedOnce) {
  model::Config config = guide_config();
  model::HttpRouteAction action;
  action.request_mirror_policy = model::RequestMirrorPolicy{ref("shadow"), std::nullopt};
  config.url_maps[0].default_route_action = action;
  expect_only_error(config, kUrlMapFile,
                    "urlMaps[lb-map].defaultRouteAction.requestMirrorPolicy.backendService",
                    "unresolved reference", "\"shadow\"");
}

// ------------------------------------------------------------------ duplicate names

TEST(ValidateConfig, DuplicateNameInOneRegion) {
  model::Config config = guide_config();
  model::BackendService copy = config.backend_services[1];
  copy.origin = origin("more-backends.yaml");
  config.backend_services.push_back(copy);
  expect_only_error(config, "more-backends.yaml", "backendServices[admin-backend].name",
                    "duplicate name", "backend service \"admin-backend\"", kBackendFile);
}

TEST(ValidateConfig, SameNameInTwoRegionsIsAllowed) {
  model::Config config = guide_config();
  model::SslCertificate copy = config.ssl_certificates[0];
  copy.region = "europe-west1";
  config.ssl_certificates.push_back(copy);
  const ConfigErrors errors = validate_config(config);
  EXPECT_TRUE(errors.empty()) << format_errors(errors);
}

TEST(ValidateConfig, DuplicateNamesInEveryCollectionAreFound) {
  model::Config config = guide_config();
  config.networks.push_back(config.networks[0]);
  config.url_maps.push_back(config.url_maps[0]);
  config.forwarding_rules.push_back(config.forwarding_rules[0]);
  config.forwarding_rules.back().port_range = "8080";
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 3u) << format_errors(errors);
  for (const ConfigError& error : errors) {
    EXPECT_NE(error.message.find("duplicate name"), std::string::npos) << error.to_string();
  }
}

// ------------------------------------------------------------------ collecting

TEST(ValidateConfig, AllErrorsAreCollectedWithTheirFiles) {
  model::Config config = guide_config();
  config.url_maps[0].default_service = ref("gone");
  config.backend_services[0].security_policy = ref("no-policy");
  config.target_https_proxies[0].ssl_certificates[0] = ref("no-cert");
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 3u) << format_errors(errors);
  expect_error(errors, kUrlMapFile, "urlMaps[lb-map].defaultService", "\"gone\"");
  expect_error(errors, kBackendFile, "backendServices[lb-backend].securityPolicy",
               "security policy \"no-policy\"");
  expect_error(errors, kFrontendFile, "targetHttpsProxies[https-proxy].sslCertificates[0]",
               "SSL certificate \"no-cert\"");
  EXPECT_NE(format_errors(errors).find(
                "urlMaps/lb-map.yaml: urlMaps[lb-map].defaultService: unresolved reference"),
            std::string::npos)
      << format_errors(errors);
}

// ------------------------------------------------------------------ through the loader

// The guide's load balancer as a user writes it: short names, partial and full URLs.
constexpr std::string_view kGuideYaml = R"(project: my-project
region: us-central1
networks:
- name: lb-network
subnetworks:
- name: lb-subnet
  network: lb-network
  ipCidrRange: 10.1.2.0/24
- name: proxy-only-subnet
  network: projects/my-project/global/networks/lb-network
  ipCidrRange: 10.129.0.0/23
  purpose: REGIONAL_MANAGED_PROXY
  role: ACTIVE
cloudRunServices:
- name: hello
networkEndpointGroups:
- name: hello-neg
  networkEndpointType: SERVERLESS
  cloudRun:
    service: hello
backendServices:
- name: hello-backend
  loadBalancingScheme: INTERNAL_MANAGED
  protocol: HTTP
  backends:
  - group: regions/us-central1/networkEndpointGroups/hello-neg
urlMaps:
- name: lb-map
  defaultService: https://www.googleapis.com/compute/v1/projects/my-project/regions/us-central1/backendServices/hello-backend
sslCertificates:
- name: lb-cert
  certificate: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
  privateKey: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"
targetHttpProxies:
- name: http-proxy
  urlMap: lb-map
targetHttpsProxies:
- name: https-proxy
  urlMap: regions/us-central1/urlMaps/lb-map
  sslCertificates: [lb-cert]
forwardingRules:
- name: http-rule
  IPAddress: 10.1.2.99
  portRange: "80"
  loadBalancingScheme: INTERNAL_MANAGED
  network: lb-network
  subnetwork: lb-subnet
  target: regions/us-central1/targetHttpProxies/http-proxy
- name: https-rule
  IPAddress: 10.1.2.99
  portRange: "443"
  loadBalancingScheme: INTERNAL_MANAGED
  network: global/networks/lb-network
  subnetwork: regions/us-central1/subnetworks/lb-subnet
  target: https-proxy
)";

/// kGuideYaml with the first occurrence of `from` replaced by `to`.
std::string guide_yaml_with(std::string_view from, std::string_view to) {
  std::string yaml(kGuideYaml);
  const std::size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

TEST(ValidateConfigYaml, GuideLoadsWithoutErrors) {
  const LoadResult result = load_config_text(kGuideYaml, "guide.yaml");
  EXPECT_TRUE(result.ok()) << format_errors(result.errors);
  EXPECT_TRUE(validate_config(result.config).empty());
}

TEST(ValidateConfigYaml, FullUrlInAnotherProjectIsUnresolved) {
  const LoadResult result = load_config_text(
      guide_yaml_with("projects/my-project/regions/us-central1/backendServices",
                      "projects/their-project/regions/us-central1/backendServices"),
      "guide.yaml");
  expect_error(result.errors, "guide.yaml", "urlMaps[lb-map].defaultService",
               "unresolved reference", "project \"their-project\"", "\"hello-backend\"");
}

TEST(ValidateConfigYaml, HttpsRedirectBehindTheHttpsProxy) {
  const LoadResult result = load_config_text(
      guide_yaml_with("  defaultService: https://www.googleapis.com/compute/v1/projects/my-project/"
                      "regions/us-central1/backendServices/hello-backend",
                      "  defaultUrlRedirect:\n    httpsRedirect: true"),
      "guide.yaml");
  expect_error(result.errors, "guide.yaml", "urlMaps[lb-map].defaultUrlRedirect.httpsRedirect",
               "targetHttpsProxies[https-proxy]");
}

TEST(ValidateConfigYaml, MissingProxyOnlySubnet) {
  const LoadResult result = load_config_text(
      guide_yaml_with("purpose: REGIONAL_MANAGED_PROXY", "purpose: PRIVATE"), "guide.yaml");
  expect_error(result.errors, "guide.yaml", "forwardingRules[http-rule].network",
               "missing proxy-only subnet");
  expect_error(result.errors, "guide.yaml", "forwardingRules[https-rule].network",
               "missing proxy-only subnet");
}

TEST(ValidateConfigYaml, ErrorsNameTheFileOfTheReferringResource) {
  // Resources spread over a directory, one of them a single exported resource.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("albemu-validate-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "urlMaps");
  const auto write = [&](const std::filesystem::path& path, std::string_view text) {
    std::ofstream(dir / path) << text;
  };
  std::string backends(kGuideYaml);
  backends.erase(backends.find("urlMaps:"));
  write("backends.yaml", backends);
  write("urlMaps/lb-map.yaml",
        "kind: compute#urlMap\nname: lb-map\nregion: us-central1\n"
        "defaultService: regions/us-central1/backendServices/hello-backend\n"
        "hostRules:\n- hosts: ['*']\n  pathMatcher: all\n"
        "pathMatchers:\n- name: all\n  defaultService: missing-backend\n");
  write(
      "frontends.yaml",
      "project: my-project\nregion: us-central1\n"
      "targetHttpProxies:\n- name: http-proxy\n  urlMap: lb-map\n"
      "- name: other-proxy\n  urlMap: other-map\n"
      "sslCertificates:\n- name: lb-cert\n"
      "  certificate: \"-----BEGIN CERTIFICATE-----\\nAA==\\n-----END CERTIFICATE-----\\n\"\n"
      "  privateKey: \"-----BEGIN PRIVATE KEY-----\\nAA==\\n-----END PRIVATE KEY-----\\n\"\n"
      "targetHttpsProxies:\n- name: https-proxy\n  urlMap: lb-map\n  sslCertificates: [lb-cert]\n");
  const LoadResult result = load_config_files({dir.string()});
  std::filesystem::remove_all(dir);

  EXPECT_EQ(result.errors.size(), 2u) << format_errors(result.errors);
  expect_error(result.errors, (dir / "urlMaps/lb-map.yaml").string(),
               "urlMaps[lb-map].pathMatchers[0].defaultService", "\"missing-backend\"");
  expect_error(result.errors, (dir / "frontends.yaml").string(),
               "targetHttpProxies[other-proxy].urlMap", "URL map \"other-map\"");
}

}  // namespace
}  // namespace albemu::config
