#pragma once
// Builders for validate_config() tests: model::Config objects made in C++, starting from the
// complete load balancer of GCP's guide "Set up a regional internal Application Load Balancer
// with Cloud Run", which every test then breaks in one place.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>

#include "config/config_error.h"
#include "config/load/loader.h"
#include "config/model/resources.h"

namespace albemu::config::validate_fixture {

inline constexpr char kNetworkFile[] = "network.yaml";
inline constexpr char kBackendFile[] = "backend.yaml";
inline constexpr char kUrlMapFile[] = "urlMaps/lb-map.yaml";
inline constexpr char kFrontendFile[] = "frontend.yaml";

/// A short-name reference (`name`), as the loader leaves it.
inline model::ResourceRef ref(std::string name) {
  model::ResourceRef out;
  out.text = name;
  out.name = std::move(name);
  return out;
}

/// `regions/REGION/COLLECTION/NAME`.
inline model::ResourceRef regional_ref(std::string region, std::string collection,
                                       std::string name) {
  model::ResourceRef out;
  out.text = "regions/" + region + "/" + collection + "/" + name;
  out.region = std::move(region);
  out.collection = std::move(collection);
  out.name = std::move(name);
  return out;
}

/// `projects/PROJECT/regions/REGION/COLLECTION/NAME`.
inline model::ResourceRef full_ref(std::string project, std::string region, std::string collection,
                                   std::string name) {
  model::ResourceRef out = regional_ref(std::move(region), std::move(collection), std::move(name));
  out.text = "projects/" + project + "/" + out.text;
  out.project = std::move(project);
  return out;
}

/// `COLLECTION/NAME` with no region (as for a global network).
inline model::ResourceRef collection_ref(std::string collection, std::string name) {
  model::ResourceRef out;
  out.text = collection + "/" + name;
  out.collection = std::move(collection);
  out.name = std::move(name);
  return out;
}

inline model::Origin origin(const char* file) { return model::Origin{file}; }

inline model::Subnetwork subnetwork(std::string name, std::string range, std::string purpose,
                                    std::string role) {
  model::Subnetwork out;
  out.origin = origin(kNetworkFile);
  out.name = std::move(name);
  out.network = ref("lb-network");
  out.ip_cidr_range = std::move(range);
  out.purpose = std::move(purpose);
  out.role = std::move(role);
  return out;
}

inline model::BackendService backend_service(std::string name, std::string neg) {
  model::BackendService out;
  out.origin = origin(kBackendFile);
  out.name = std::move(name);
  out.load_balancing_scheme = "INTERNAL_MANAGED";
  out.protocol = "HTTP";
  model::Backend backend;
  backend.group = ref(std::move(neg));
  out.backends.push_back(std::move(backend));
  return out;
}

inline model::NetworkEndpointGroup serverless_neg(std::string name, std::string service) {
  model::NetworkEndpointGroup out;
  out.origin = origin(kBackendFile);
  out.name = std::move(name);
  out.network_endpoint_type = "SERVERLESS";
  out.cloud_run = model::CloudRunTarget{};
  out.cloud_run->service = std::move(service);
  return out;
}

inline model::HttpRouteRule route_rule(int64_t priority, std::string prefix, std::string service) {
  model::HttpRouteRule out;
  out.priority = priority;
  model::HttpRouteRuleMatch match;
  match.prefix_match = std::move(prefix);
  out.match_rules.push_back(std::move(match));
  out.service = ref(std::move(service));
  return out;
}

inline model::ForwardingRule forwarding_rule(std::string name, std::string port,
                                             model::ResourceRef target) {
  model::ForwardingRule out;
  out.origin = origin(kFrontendFile);
  out.name = std::move(name);
  out.ip_address = "10.1.2.99";
  out.port_range = std::move(port);
  out.load_balancing_scheme = "INTERNAL_MANAGED";
  out.target = std::move(target);
  out.network = ref("lb-network");
  out.subnetwork = ref("lb-subnet");
  return out;
}

/// The guide's load balancer in region us-central1: network lb-network with lb-subnet and an
/// ACTIVE proxy-only subnet, Cloud Run service `hello` behind serverless NEG `lb-neg` and
/// backend service `lb-backend` (with a Cloud Armor policy), URL map `lb-map` with host and
/// route rules, an SSL certificate and policy, HTTP and HTTPS proxies and their two
/// forwarding rules on 10.1.2.99 ports 80 and 443.
inline model::Config guide_config() {
  model::Config config;
  config.project = "my-project";
  config.region = "us-central1";

  model::Network network;
  network.origin = origin(kNetworkFile);
  network.name = "lb-network";
  config.networks.push_back(network);
  config.subnetworks.push_back(subnetwork("lb-subnet", "10.1.2.0/24", "PRIVATE", ""));
  config.subnetworks.push_back(
      subnetwork("proxy-only-subnet", "10.129.0.0/23", "REGIONAL_MANAGED_PROXY", "ACTIVE"));

  model::CloudRunService hello;
  hello.origin = origin(kBackendFile);
  hello.name = "hello";
  hello.tags["blue"] = {};
  config.cloud_run_services.push_back(hello);
  model::CloudRunService admin = hello;
  admin.name = "admin";
  admin.tags.clear();
  config.cloud_run_services.push_back(admin);

  config.network_endpoint_groups.push_back(serverless_neg("lb-neg", "hello"));
  config.network_endpoint_groups.push_back(serverless_neg("admin-neg", "admin"));
  config.backend_services.push_back(backend_service("lb-backend", "lb-neg"));
  config.backend_services.back().security_policy = ref("rate-limit");
  config.backend_services.push_back(backend_service("admin-backend", "admin-neg"));

  model::SecurityPolicy policy;
  policy.origin = origin(kBackendFile);
  policy.name = "rate-limit";
  policy.type = "CLOUD_ARMOR";
  config.security_policies.push_back(policy);

  model::UrlMap url_map;
  url_map.origin = origin(kUrlMapFile);
  url_map.name = "lb-map";
  url_map.default_service = ref("lb-backend");
  model::HostRule host_rule;
  host_rule.hosts = {"example.com", "*.example.com"};
  host_rule.path_matcher = "matcher";
  url_map.host_rules.push_back(host_rule);
  model::PathMatcher matcher;
  matcher.name = "matcher";
  matcher.default_service = full_ref("my-project", "us-central1", "backendServices", "lb-backend");
  matcher.route_rules.push_back(route_rule(1, "/admin", "admin-backend"));
  matcher.route_rules.push_back(route_rule(2, "/api", "lb-backend"));
  matcher.route_rules.push_back(route_rule(3, "/static", "lb-backend"));
  url_map.path_matchers.push_back(matcher);
  model::PathMatcher paths;
  paths.name = "paths";
  paths.default_service = regional_ref("us-central1", "backendServices", "lb-backend");
  model::PathRule path_rule;
  path_rule.paths = {"/admin/*"};
  path_rule.service = ref("admin-backend");
  paths.path_rules.push_back(path_rule);
  url_map.path_matchers.push_back(paths);
  host_rule.hosts = {"admin.internal"};
  host_rule.path_matcher = "paths";
  url_map.host_rules.push_back(host_rule);
  model::UrlMapTest test;
  test.host = "example.com";
  test.path = "/admin";
  test.service = ref("admin-backend");
  url_map.tests.push_back(test);
  config.url_maps.push_back(url_map);

  model::SslCertificate certificate;
  certificate.origin = origin(kFrontendFile);
  certificate.name = "lb-cert";
  config.ssl_certificates.push_back(certificate);
  model::SslPolicy ssl_policy;
  ssl_policy.origin = origin(kFrontendFile);
  ssl_policy.name = "modern";
  ssl_policy.profile = "MODERN";
  config.ssl_policies.push_back(ssl_policy);

  model::TargetHttpProxy http_proxy;
  http_proxy.origin = origin(kFrontendFile);
  http_proxy.name = "http-proxy";
  http_proxy.url_map = ref("lb-map");
  config.target_http_proxies.push_back(http_proxy);
  model::TargetHttpsProxy https_proxy;
  https_proxy.origin = origin(kFrontendFile);
  https_proxy.name = "https-proxy";
  https_proxy.url_map = regional_ref("us-central1", "urlMaps", "lb-map");
  https_proxy.ssl_certificates.push_back(ref("lb-cert"));
  https_proxy.ssl_policy = ref("modern");
  config.target_https_proxies.push_back(https_proxy);

  config.forwarding_rules.push_back(forwarding_rule(
      "http-rule", "80", regional_ref("us-central1", "targetHttpProxies", "http-proxy")));
  config.forwarding_rules.push_back(forwarding_rule("https-rule", "443", ref("https-proxy")));
  config.forwarding_rules.back().network = collection_ref("networks", "lb-network");
  return config;
}

/// Asserts that exactly one error has this file and field path and that its message holds
/// every given fragment.
template <class... Fragments>
void expect_error(const ConfigErrors& errors, const std::string& file,
                  const std::string& field_path, const Fragments&... fragments) {
  const auto matches = std::count_if(errors.begin(), errors.end(), [&](const ConfigError& e) {
    return e.file == file && e.field_path == field_path;
  });
  ASSERT_EQ(matches, 1) << "want one error at " << file << ": " << field_path << "\ngot:\n"
                        << format_errors(errors);
  const auto it = std::find_if(errors.begin(), errors.end(), [&](const ConfigError& e) {
    return e.file == file && e.field_path == field_path;
  });
  for (const std::string& fragment : {std::string(fragments)...}) {
    EXPECT_NE(it->message.find(fragment), std::string::npos)
        << "message \"" << it->message << "\" lacks \"" << fragment << "\"";
  }
}

/// Asserts the config breaks exactly one rule, at this file and field path.
template <class... Fragments>
void expect_only_error(const model::Config& config, const std::string& file,
                       const std::string& field_path, const Fragments&... fragments) {
  const ConfigErrors errors = validate_config(config);
  EXPECT_EQ(errors.size(), 1u) << format_errors(errors);
  expect_error(errors, file, field_path, fragments...);
}

}  // namespace albemu::config::validate_fixture
