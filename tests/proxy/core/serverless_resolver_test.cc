#include "proxy/core/serverless_resolver.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/load/loader.h"

namespace albemu::core {
namespace {

model::CloudRunService cloud_run_service(std::string name, std::vector<std::string> urls = {},
                                         std::map<std::string, std::vector<std::string>> tags = {},
                                         std::string region = "") {
  model::CloudRunService service;
  service.name = std::move(name);
  service.region = std::move(region);
  service.urls = std::move(urls);
  service.tags = std::move(tags);
  return service;
}

model::NetworkEndpointGroup neg(std::string name, std::optional<std::string> service,
                                std::optional<std::string> tag, std::optional<std::string> mask,
                                std::string region = "") {
  model::NetworkEndpointGroup group;
  group.origin.file = "config.yaml";
  group.name = std::move(name);
  group.region = std::move(region);
  group.network_endpoint_type = "SERVERLESS";
  group.cloud_run = model::CloudRunTarget{std::move(service), std::move(tag), std::move(mask)};
  return group;
}

model::BackendService backend_service(std::string name, std::string group_name,
                                      std::string group_region = "") {
  model::BackendService service;
  service.name = std::move(name);
  service.load_balancing_scheme = "INTERNAL_MANAGED";
  model::Backend backend;
  backend.group.text = group_name;
  backend.group.name = std::move(group_name);
  backend.group.region = std::move(group_region);
  backend.group.collection = "networkEndpointGroups";
  service.backends.push_back(std::move(backend));
  return service;
}

/// login (one URL, tags test and canary), billing (no URL: built-in stand-in), both in the
/// default region; `other` only in europe-west1.
model::Config base_config() {
  model::Config config;
  config.cloud_run_services.push_back(cloud_run_service(
      "login", {"http://login:8080"}, {{"test", {"http://login-test:8080"}}, {"canary", {}}}));
  config.cloud_run_services.push_back(cloud_run_service("billing"));
  config.cloud_run_services.push_back(
      cloud_run_service("other", {"http://other:8080"}, {}, "europe-west1"));
  return config;
}

std::shared_ptr<const ServerlessResolver> create_ok(const model::Config& config) {
  config::ConfigErrors errors;
  auto resolver = ServerlessResolver::create(config, errors);
  EXPECT_TRUE(errors.empty()) << config::format_errors(errors);
  EXPECT_NE(resolver, nullptr);
  return resolver;
}

/// A config with one mask NEG `neg-mask` behind backend service `bs`.
std::shared_ptr<const ServerlessResolver> mask_resolver(std::string mask,
                                                        std::optional<std::string> tag = {},
                                                        std::optional<std::string> service = {}) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-mask", service, tag, std::move(mask)));
  config.backend_services.push_back(backend_service("bs", "neg-mask"));
  return create_ok(config);
}

void expect_target(const std::optional<ServerlessTarget>& target, std::string_view service,
                   std::string_view tag, std::vector<std::string> endpoints) {
  ASSERT_TRUE(target.has_value()) << "expected " << service;
  EXPECT_EQ(target->cloud_run_service, service);
  EXPECT_EQ(target->tag, tag);
  ASSERT_NE(target->endpoints, nullptr);
  EXPECT_EQ(*target->endpoints, endpoints);
}

// ------------------------------------------------------------------ named service

TEST(ServerlessResolverTest, NamedServiceResolvesToItsUrls) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-login", "login", {}, {}));
  config.backend_services.push_back(backend_service("bs-login", "neg-login"));
  auto resolver = create_ok(config);
  auto target = resolver->resolve("bs-login", "anything.example.com", "/whatever");
  expect_target(target, "login", "", {"http://login:8080"});
  EXPECT_EQ(target->network_endpoint_group, "neg-login");
}

TEST(ServerlessResolverTest, NamedServiceWithFixedTagResolvesToTheTagUrls) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-login-test", "login", "test", {}));
  config.backend_services.push_back(backend_service("bs", "neg-login-test"));
  expect_target(create_ok(config)->resolve("bs", "h", "/"), "login", "test",
                {"http://login-test:8080"});
}

TEST(ServerlessResolverTest, ServiceWithoutUrlsMeansBuiltInStandIn) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-billing", "billing", {}, {}));
  config.network_endpoint_groups.push_back(neg("neg-canary", "login", "canary", {}));
  config.backend_services.push_back(backend_service("bs-billing", "neg-billing"));
  config.backend_services.push_back(backend_service("bs-canary", "neg-canary"));
  auto resolver = create_ok(config);
  expect_target(resolver->resolve("bs-billing", "h", "/"), "billing", "", {});
  expect_target(resolver->resolve("bs-canary", "h", "/"), "login", "canary", {});
}

TEST(ServerlessResolverTest, UndeclaredNamedServiceOrTagFails) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-ghost", "ghost", {}, {}));
  config.network_endpoint_groups.push_back(neg("neg-bad-tag", "login", "nope", {}));
  config.backend_services.push_back(backend_service("bs-ghost", "neg-ghost"));
  config.backend_services.push_back(backend_service("bs-bad-tag", "neg-bad-tag"));
  auto resolver = create_ok(config);
  EXPECT_FALSE(resolver->resolve("bs-ghost", "h", "/").has_value());
  EXPECT_FALSE(resolver->resolve("bs-bad-tag", "h", "/").has_value());
}

TEST(ServerlessResolverTest, UnknownBackendServiceOrOneWithoutServerlessNegFails) {
  model::Config config = base_config();
  config.backend_services.push_back(backend_service("bs-dangling", "no-such-neg"));
  model::BackendService empty;
  empty.name = "bs-empty";
  config.backend_services.push_back(empty);
  auto resolver = create_ok(config);
  EXPECT_FALSE(resolver->resolve("bs-dangling", "h", "/").has_value());
  EXPECT_FALSE(resolver->resolve("bs-empty", "h", "/").has_value());
  EXPECT_FALSE(resolver->resolve("not-declared", "h", "/").has_value());
}

// ------------------------------------------------------------------ regions

TEST(ServerlessResolverTest, NegOnlyReachesServicesInItsRegion) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-eu", {}, {}, "/<service>", "europe-west1"));
  config.backend_services.push_back(backend_service("bs-eu", "neg-eu", "europe-west1"));
  config.network_endpoint_groups.push_back(neg("neg-us", {}, {}, "/<service>"));
  config.backend_services.push_back(backend_service("bs-us", "neg-us"));
  auto resolver = create_ok(config);
  expect_target(resolver->resolve("bs-eu", "h", "/other"), "other", "", {"http://other:8080"});
  EXPECT_FALSE(resolver->resolve("bs-eu", "h", "/login").has_value());
  expect_target(resolver->resolve("bs-us", "h", "/login"), "login", "", {"http://login:8080"});
  EXPECT_FALSE(resolver->resolve("bs-us", "h", "/other").has_value());
}

TEST(ServerlessResolverTest, BackendGroupMatchesNegByNameAndRegion) {
  model::Config config = base_config();
  // Same NEG name in two regions, naming different services.
  config.network_endpoint_groups.push_back(neg("neg", "login", {}, {}));
  config.network_endpoint_groups.push_back(neg("neg", "other", {}, {}, "europe-west1"));
  model::BackendService eu = backend_service("bs-eu", "neg");
  eu.region = "europe-west1";  // the group reference inherits the backend service's region
  config.backend_services.push_back(eu);
  config.backend_services.push_back(backend_service("bs-us", "neg"));
  auto resolver = create_ok(config);
  expect_target(resolver->resolve("bs-eu", "h", "/"), "other", "", {"http://other:8080"});
  expect_target(resolver->resolve("bs-us", "h", "/"), "login", "", {"http://login:8080"});
}

// ------------------------------------------------------------------ URL masks

TEST(ServerlessResolverTest, MaskPicksDeclaredServices) {
  auto resolver = mask_resolver("/<service>");
  expect_target(resolver->resolve("bs", "example.com", "/login/web"), "login", "",
                {"http://login:8080"});
  expect_target(resolver->resolve("bs", "example.com", "/billing"), "billing", "", {});
  auto target = resolver->resolve("bs", "example.com", "/login");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->network_endpoint_group, "neg-mask");
}

TEST(ServerlessResolverTest, MaskNamingAnUndeclaredServiceFails) {
  auto resolver = mask_resolver("/<service>");
  EXPECT_FALSE(resolver->resolve("bs", "example.com", "/ghost/web").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "example.com", "/").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "example.com", "/Login").has_value());  // path keeps case
}

TEST(ServerlessResolverTest, MaskThatDoesNotMatchFails) {
  auto resolver = mask_resolver("<service>-home.example.com");
  EXPECT_FALSE(resolver->resolve("bs", "login-home.example.org", "/web").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "login.example.com", "/web").has_value());
}

TEST(ServerlessResolverTest, HostCaptureIsCaseInsensitive) {
  auto resolver = mask_resolver("<tag>.<service>.example.com");
  expect_target(resolver->resolve("bs", "TEST.Login.Example.COM:443", "/web"), "login", "test",
                {"http://login-test:8080"});
  // Longer than any Cloud Run name: looked up without the stack buffer, still no match.
  std::string long_host = std::string(80, 'X') + ".login.example.com";
  EXPECT_FALSE(resolver->resolve("bs", long_host, "/").has_value());
}

TEST(ServerlessResolverTest, ResultViewsDoNotPointIntoTheRequest) {
  auto resolver = mask_resolver("<tag>.<service>.example.com");
  std::optional<ServerlessTarget> target;
  {
    std::string host = "CANARY.LOGIN.example.com";
    target = resolver->resolve("bs", host, "/");
    host.assign(host.size(), '#');  // the request buffer is reused
  }
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->cloud_run_service, "login");
  EXPECT_EQ(target->tag, "canary");
}

TEST(ServerlessResolverTest, MaskTagMustBeDeclared) {
  auto resolver = mask_resolver("/<service>/<tag>");
  expect_target(resolver->resolve("bs", "h", "/login/test"), "login", "test",
                {"http://login-test:8080"});
  expect_target(resolver->resolve("bs", "h", "/login/canary/x"), "login", "canary", {});
  EXPECT_FALSE(resolver->resolve("bs", "h", "/login/prod").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "h", "/billing/test").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "h", "/login").has_value());  // <tag> segment missing
}

TEST(ServerlessResolverTest, FixedTagCombinesWithMaskService) {
  auto resolver = mask_resolver("/<service>", "test");
  expect_target(resolver->resolve("bs", "h", "/login"), "login", "test",
                {"http://login-test:8080"});
  EXPECT_FALSE(resolver->resolve("bs", "h", "/billing").has_value());  // billing has no tag test
}

TEST(ServerlessResolverTest, FixedServiceCombinesWithMaskTag) {
  auto resolver = mask_resolver("<tag>.example.com", {}, "login");
  expect_target(resolver->resolve("bs", "test.example.com", "/"), "login", "test",
                {"http://login-test:8080"});
  EXPECT_FALSE(resolver->resolve("bs", "prod.example.com", "/").has_value());
  EXPECT_FALSE(resolver->resolve("bs", "example.org", "/").has_value());
}

// The five examples of the "Using a URL mask" docs, resolved end to end.
TEST(ServerlessResolverTest, DocExamples) {
  struct Example {
    const char* mask;
    const char* host;
    const char* path;
    const char* service;
    const char* tag;
  };
  const Example examples[] = {
      {"<service>-home.example.com", "login-home.example.com", "/web", "login", ""},
      {"example.com/<service>", "example.com", "/login/web", "login", ""},
      {"/<service>", "example.com", "/login/web", "login", ""},
      {"<tag>.<service>.example.com", "test.login.example.com", "/web", "login", "test"},
      {"example.com/home/<service>/<tag>", "example.com", "/home/login/test", "login", "test"},
      {"/home/<service>/<tag>", "example.com", "/home/login/test", "login", "test"},
      {"<tag>.example.com/home/<service>", "test.example.com", "/home/login/web", "login", "test"},
  };
  for (const Example& example : examples) {
    SCOPED_TRACE(example.mask);
    auto resolver = mask_resolver(example.mask);
    auto target = resolver->resolve("bs", example.host, example.path);
    ASSERT_TRUE(target.has_value());
    EXPECT_EQ(target->cloud_run_service, example.service);
    EXPECT_EQ(target->tag, example.tag);
  }
}

// ------------------------------------------------------------------ create() errors

TEST(ServerlessResolverTest, BadMaskIsAConfigError) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-bad", {}, {}, "/<service>/<service>"));
  config.backend_services.push_back(backend_service("bs", "neg-bad"));
  config::ConfigErrors errors;
  auto resolver = ServerlessResolver::create(config, errors);
  EXPECT_EQ(resolver, nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "config.yaml");
  EXPECT_EQ(errors[0].field_path, "networkEndpointGroups[neg-bad].cloudRun.urlMask");
  EXPECT_NE(errors[0].message.find("<service> appears more than once"), std::string::npos);
}

TEST(ServerlessResolverTest, NegWithoutAnyServiceSourceIsAConfigError) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-tag-only", {}, {}, "<tag>.example.com"));
  config::ConfigErrors errors;
  EXPECT_EQ(ServerlessResolver::create(config, errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field_path, "networkEndpointGroups[neg-tag-only].cloudRun");
}

TEST(ServerlessResolverTest, ErrorsAreAppendedAfterExistingOnes) {
  model::Config config = base_config();
  config.network_endpoint_groups.push_back(neg("neg-a", {}, {}, "no-placeholder.example.com"));
  config.network_endpoint_groups.push_back(neg("neg-b", {}, {}, "/<oops>"));
  config::ConfigErrors errors{{"earlier.yaml", "x", "earlier problem"}};
  EXPECT_EQ(ServerlessResolver::create(config, errors), nullptr);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].file, "earlier.yaml");
  EXPECT_EQ(errors[1].field_path, "networkEndpointGroups[neg-a].cloudRun.urlMask");
  EXPECT_EQ(errors[2].field_path, "networkEndpointGroups[neg-b].cloudRun.urlMask");
}

TEST(ServerlessResolverTest, EmptyConfigBuilds) {
  auto resolver = create_ok(model::Config{});
  EXPECT_FALSE(resolver->resolve("bs", "h", "/").has_value());
}

TEST(ServerlessResolverTest, ManyServicesResolveThroughOneMask) {
  model::Config config;
  for (int i = 0; i < 1000; ++i) {
    config.cloud_run_services.push_back(cloud_run_service(
        "svc-" + std::to_string(i), {"http://svc-" + std::to_string(i) + ":8080"}));
  }
  config.network_endpoint_groups.push_back(neg("neg-mask", {}, {}, "/<service>"));
  config.backend_services.push_back(backend_service("bs", "neg-mask"));
  auto resolver = create_ok(config);
  for (int i = 0; i < 1000; i += 37) {
    std::string name = "svc-" + std::to_string(i);
    expect_target(resolver->resolve("bs", "h", "/" + name + "/x"), name, "",
                  {"http://" + name + ":8080"});
  }
  EXPECT_FALSE(resolver->resolve("bs", "h", "/svc-1000").has_value());
}

// ------------------------------------------------------------------ from YAML

constexpr char kMaskYaml[] = R"yaml(
project: my-project
region: europe-west1
cloudRunServices:
- name: login
  url: http://login:8080
  tags:
    test: http://login-test:8080
- name: billing
- name: far-away
  region: us-east1
networkEndpointGroups:
- name: mask-neg
  networkEndpointType: SERVERLESS
  cloudRun:
    urlMask: <tag>.example.com/home/<service>
- name: path-neg
  networkEndpointType: SERVERLESS
  cloudRun:
    urlMask: /<service>
    tag: test
- name: login-neg
  region: regions/europe-west1
  networkEndpointType: SERVERLESS
  cloudRun:
    service: login
backendServices:
- name: mask-backend
  loadBalancingScheme: INTERNAL_MANAGED
  backends:
  - group: projects/my-project/regions/europe-west1/networkEndpointGroups/mask-neg
- name: path-backend
  loadBalancingScheme: INTERNAL_MANAGED
  backends:
  - group: regions/europe-west1/networkEndpointGroups/path-neg
- name: login-backend
  loadBalancingScheme: INTERNAL_MANAGED
  backends:
  - group: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/networkEndpointGroups/login-neg
)yaml";

std::shared_ptr<const ServerlessResolver> yaml_resolver() {
  config::LoadResult loaded = config::load_config_text(kMaskYaml, "masks.yaml");
  EXPECT_TRUE(loaded.ok()) << config::format_errors(loaded.errors);
  return create_ok(loaded.config);
}

TEST(ServerlessResolverYamlTest, MaskNegFromYaml) {
  auto resolver = yaml_resolver();
  ASSERT_NE(resolver, nullptr);
  expect_target(resolver->resolve("mask-backend", "test.example.com", "/home/login/web"), "login",
                "test", {"http://login-test:8080"});
  EXPECT_FALSE(resolver->resolve("mask-backend", "test.example.com", "/home/billing").has_value());
  EXPECT_FALSE(resolver->resolve("mask-backend", "test.example.com", "/away/login").has_value());
  // Declared, but in another region than the NEG.
  EXPECT_FALSE(resolver->resolve("mask-backend", "test.example.com", "/home/far-away").has_value());
}

TEST(ServerlessResolverYamlTest, FixedTagAndNamedServiceFromYaml) {
  auto resolver = yaml_resolver();
  ASSERT_NE(resolver, nullptr);
  expect_target(resolver->resolve("path-backend", "h", "/login"), "login", "test",
                {"http://login-test:8080"});
  EXPECT_FALSE(resolver->resolve("path-backend", "h", "/billing").has_value());
  auto target = resolver->resolve("login-backend", "h", "/anything");
  expect_target(target, "login", "", {"http://login:8080"});
  EXPECT_EQ(target->network_endpoint_group, "login-neg");
}

}  // namespace
}  // namespace albemu::core
