// load_config_text / load_config_files: every field lands in the model.

#include "config/load/loader.h"

#include <gtest/gtest.h>

#include "tests/config/loader_fixture.h"

namespace albemu::config {
namespace {

using testing::has_error;
using testing::kConfigFile;
using testing::load_with;

TEST(Loader, BaseConfigLoadsWithoutErrors) {
  LoadResult result = load_with(testing::kMinimalUrlMap);
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::Config& config = result.config;
  EXPECT_EQ(config.project, "my-project");
  EXPECT_EQ(config.region, "europe-west1");
  ASSERT_EQ(config.networks.size(), 1u);
  EXPECT_EQ(config.networks[0].name, "lb-network");
  EXPECT_EQ(config.networks[0].project, "my-project");
  EXPECT_FALSE(config.networks[0].auto_create_subnetworks);
  ASSERT_EQ(config.subnetworks.size(), 2u);
  const model::Subnetwork& proxy_subnet = config.subnetworks[1];
  EXPECT_EQ(proxy_subnet.name, "proxy-only-subnet");
  EXPECT_EQ(proxy_subnet.region, "europe-west1");
  EXPECT_EQ(proxy_subnet.ip_cidr_range, "10.129.0.0/23");
  EXPECT_EQ(proxy_subnet.purpose, "REGIONAL_MANAGED_PROXY");
  EXPECT_EQ(proxy_subnet.role, "ACTIVE");
  EXPECT_EQ(proxy_subnet.network.collection, "networks");
  EXPECT_EQ(proxy_subnet.network.project, "my-project");
  EXPECT_EQ(proxy_subnet.network.region, "");
  EXPECT_EQ(config.subnetworks[0].purpose, "PRIVATE");
  EXPECT_EQ(config.subnetworks[0].network.name, "lb-network");
  EXPECT_EQ(config.subnetworks[0].network.region, "") << "networks are global";
  ASSERT_EQ(config.url_maps.size(), 1u);
  EXPECT_EQ(config.url_maps[0].origin.file, kConfigFile);
  EXPECT_EQ(config.url_maps[0].project, "my-project");
  EXPECT_EQ(config.url_maps[0].region, "europe-west1");
  ASSERT_TRUE(config.url_maps[0].default_service);
  EXPECT_EQ(config.url_maps[0].default_service->name, "web-backend");
  EXPECT_EQ(config.url_maps[0].default_service->project, "my-project");
  EXPECT_EQ(config.url_maps[0].default_service->region, "europe-west1");
}

TEST(Loader, EveryResourceRecordsItsFile) {
  LoadResult result = load_with(testing::kMinimalUrlMap);
  const model::Config& config = result.config;
  for (const auto& item : config.networks) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.subnetworks) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.cloud_run_services) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.network_endpoint_groups) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.backend_services) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.target_http_proxies) EXPECT_EQ(item.origin.file, kConfigFile);
  for (const auto& item : config.forwarding_rules) EXPECT_EQ(item.origin.file, kConfigFile);
}

TEST(Loader, UrlMapTopLevelAndHostRules) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  description: the map
  defaultService: web-backend
  defaultRouteAction:
    timeout: {seconds: "30", nanos: 500}
    urlRewrite:
      hostRewrite: rewritten.example.com
  headerAction:
    requestHeadersToAdd:
    - headerName: X-Env
      headerValue: prod
      replace: false
    requestHeadersToRemove: [X-Debug]
    responseHeadersToAdd:
    - headerName: X-Served-By
      headerValue: albemu
    responseHeadersToRemove: [Server]
  hostRules:
  - description: api hosts
    hosts: ["api.example.com", "*.api.example.com", "api.example.com:8080"]
    pathMatcher: api
  - hosts: ["*"]
    pathMatcher: other
  pathMatchers:
  - name: api
    description: api matcher
    defaultUrlRedirect:
      hostRedirect: www.example.com
    headerAction:
      responseHeadersToAdd:
      - headerName: X-Matcher
        headerValue: api
        replace: true
    pathRules:
    - paths: [/login, /login/*]
      service: login-backend
  - name: other
    defaultService: login-backend
)yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::UrlMap& map = result.config.url_maps.at(0);
  EXPECT_EQ(map.description, "the map");
  ASSERT_TRUE(map.default_route_action);
  ASSERT_TRUE(map.default_route_action->timeout);
  EXPECT_EQ(map.default_route_action->timeout->seconds, 30);
  EXPECT_EQ(map.default_route_action->timeout->nanos, 500);
  ASSERT_TRUE(map.default_route_action->url_rewrite);
  EXPECT_EQ(map.default_route_action->url_rewrite->host_rewrite, "rewritten.example.com");
  ASSERT_TRUE(map.header_action);
  ASSERT_EQ(map.header_action->request_headers_to_add.size(), 1u);
  EXPECT_EQ(map.header_action->request_headers_to_add[0].header_name, "X-Env");
  EXPECT_EQ(map.header_action->request_headers_to_add[0].header_value, "prod");
  EXPECT_EQ(map.header_action->request_headers_to_add[0].replace, false);
  EXPECT_EQ(map.header_action->request_headers_to_remove, std::vector<std::string>{"X-Debug"});
  ASSERT_EQ(map.header_action->response_headers_to_add.size(), 1u);
  EXPECT_FALSE(map.header_action->response_headers_to_add[0].replace.has_value());
  EXPECT_EQ(map.header_action->response_headers_to_remove, std::vector<std::string>{"Server"});
  ASSERT_EQ(map.host_rules.size(), 2u);
  EXPECT_EQ(map.host_rules[0].description, "api hosts");
  EXPECT_EQ(
      map.host_rules[0].hosts,
      (std::vector<std::string>{"api.example.com", "*.api.example.com", "api.example.com:8080"}));
  EXPECT_EQ(map.host_rules[0].path_matcher, "api");
  ASSERT_EQ(map.path_matchers.size(), 2u);
  const model::PathMatcher& api = map.path_matchers[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.description, "api matcher");
  ASSERT_TRUE(api.default_url_redirect);
  EXPECT_EQ(api.default_url_redirect->host_redirect, "www.example.com");
  EXPECT_EQ(api.default_url_redirect->redirect_response_code,
            model::RedirectResponseCode::kMovedPermanentlyDefault);
  ASSERT_TRUE(api.header_action);
  EXPECT_EQ(api.header_action->response_headers_to_add.at(0).replace, true);
  ASSERT_EQ(api.path_rules.size(), 1u);
  EXPECT_EQ(api.path_rules[0].paths, (std::vector<std::string>{"/login", "/login/*"}));
  EXPECT_EQ(api.path_rules[0].service->name, "login-backend");
  EXPECT_EQ(map.path_matchers[1].default_service->name, "login-backend");
}

TEST(Loader, RouteRulesWithEveryMatchAndAction) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: web-backend
  hostRules:
  - hosts: ["*"]
    pathMatcher: routes
  pathMatchers:
  - name: routes
    defaultService: web-backend
    routeRules:
    - priority: 1
      description: canary
      matchRules:
      - prefixMatch: /api/
        ignoreCase: true
        headerMatches:
        - headerName: X-Exact
          exactMatch: "yes"
        - headerName: X-Prefix
          prefixMatch: pre
        - headerName: X-Suffix
          suffixMatch: fix
        - headerName: X-Regex
          regexMatch: "^v[0-9]+$"
        - headerName: X-Present
          presentMatch: true
          invertMatch: true
        - headerName: X-Range
          rangeMatch: {rangeStart: "-5", rangeEnd: 10}
        queryParameterMatches:
        - name: q1
          exactMatch: a
        - name: q2
          regexMatch: "b+"
        - name: q3
          presentMatch: true
      - fullPathMatch: /exact
      - regexMatch: "^/re/.*$"
      routeAction:
        weightedBackendServices:
        - backendService: login-backend
          weight: 90
          headerAction:
            requestHeadersToAdd:
            - headerName: X-Backend
              headerValue: login
        - backendService: web-backend
          weight: 10
        urlRewrite:
          pathPrefixRewrite: /v2/
          hostRewrite: internal.example.com
        timeout: {seconds: 15}
        retryPolicy:
          retryConditions: [5xx, gateway-error, connect-failure, retriable-4xx, refused-stream,
                            cancelled, deadline-exceeded, internal, resource-exhausted,
                            unavailable]
          numRetries: 3
          perTryTimeout: {seconds: 2, nanos: 5}
        corsPolicy:
          allowOrigins: [https://a.example.com]
          allowMethods: [GET, POST]
          allowHeaders: [X-A]
          exposeHeaders: [X-B]
          maxAge: 600
          allowCredentials: true
          disabled: false
        faultInjectionPolicy:
          delay:
            fixedDelay: {seconds: 1, nanos: 2}
            percentage: 12.5
          abort:
            httpStatus: 503
            percentage: 0.5
      headerAction:
        requestHeadersToAdd:
        - headerName: X-Client-Cert
          headerValue: "{client_cert_present}"
    - priority: 2
      matchRules:
      - pathTemplateMatch: /static/{format=**}
      service: web-backend
      routeAction:
        urlRewrite:
          pathTemplateRewrite: /content/{format}
    - priority: 3
      matchRules:
      - prefixMatch: /old/
      urlRedirect:
        prefixRedirect: /new/
        httpsRedirect: true
        stripQuery: true
        redirectResponseCode: PERMANENT_REDIRECT
    - priority: 4
      matchRules:
      - fullPathMatch: /gone
      urlRedirect:
        pathRedirect: /here
        hostRedirect: other.example.com
        redirectResponseCode: FOUND
    - priority: 5
      matchRules:
      - fullPathMatch: /see
      urlRedirect: {pathRedirect: /other, redirectResponseCode: SEE_OTHER}
    - priority: 6
      matchRules:
      - fullPathMatch: /tmp
      urlRedirect: {pathRedirect: /other, redirectResponseCode: TEMPORARY_REDIRECT}
)yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::PathMatcher& matcher = result.config.url_maps.at(0).path_matchers.at(0);
  ASSERT_EQ(matcher.route_rules.size(), 6u);
  const model::HttpRouteRule& rule = matcher.route_rules[0];
  EXPECT_EQ(rule.priority, 1);
  EXPECT_EQ(rule.description, "canary");
  ASSERT_EQ(rule.match_rules.size(), 3u);
  const model::HttpRouteRuleMatch& match = rule.match_rules[0];
  EXPECT_EQ(match.prefix_match, "/api/");
  EXPECT_TRUE(match.ignore_case);
  ASSERT_EQ(match.header_matches.size(), 6u);
  EXPECT_EQ(match.header_matches[0].header_name, "X-Exact");
  EXPECT_EQ(match.header_matches[0].exact_match, "yes");
  EXPECT_EQ(match.header_matches[1].prefix_match, "pre");
  EXPECT_EQ(match.header_matches[2].suffix_match, "fix");
  EXPECT_EQ(match.header_matches[3].regex_match, "^v[0-9]+$");
  EXPECT_EQ(match.header_matches[4].present_match, true);
  EXPECT_TRUE(match.header_matches[4].invert_match);
  EXPECT_FALSE(match.header_matches[0].invert_match);
  ASSERT_TRUE(match.header_matches[5].range_match);
  EXPECT_EQ(match.header_matches[5].range_match->range_start, -5);
  EXPECT_EQ(match.header_matches[5].range_match->range_end, 10);
  ASSERT_EQ(match.query_parameter_matches.size(), 3u);
  EXPECT_EQ(match.query_parameter_matches[0].name, "q1");
  EXPECT_EQ(match.query_parameter_matches[0].exact_match, "a");
  EXPECT_EQ(match.query_parameter_matches[1].regex_match, "b+");
  EXPECT_EQ(match.query_parameter_matches[2].present_match, true);
  EXPECT_EQ(rule.match_rules[1].full_path_match, "/exact");
  EXPECT_EQ(rule.match_rules[2].regex_match, "^/re/.*$");

  ASSERT_TRUE(rule.route_action);
  const model::HttpRouteAction& action = *rule.route_action;
  ASSERT_EQ(action.weighted_backend_services.size(), 2u);
  EXPECT_EQ(action.weighted_backend_services[0].backend_service.name, "login-backend");
  EXPECT_EQ(action.weighted_backend_services[0].backend_service.region, "europe-west1");
  EXPECT_EQ(action.weighted_backend_services[0].weight, 90u);
  ASSERT_TRUE(action.weighted_backend_services[0].header_action);
  EXPECT_EQ(
      action.weighted_backend_services[0].header_action->request_headers_to_add.at(0).header_value,
      "login");
  EXPECT_EQ(action.weighted_backend_services[1].weight, 10u);
  EXPECT_EQ(action.url_rewrite->path_prefix_rewrite, "/v2/");
  EXPECT_EQ(action.url_rewrite->host_rewrite, "internal.example.com");
  EXPECT_EQ(action.timeout->seconds, 15);
  ASSERT_TRUE(action.retry_policy);
  EXPECT_EQ(action.retry_policy->retry_conditions.size(), 10u);
  EXPECT_EQ(action.retry_policy->retry_conditions[1], "gateway-error");
  EXPECT_EQ(action.retry_policy->num_retries, 3u);
  EXPECT_EQ(action.retry_policy->per_try_timeout->seconds, 2);
  EXPECT_EQ(action.retry_policy->per_try_timeout->nanos, 5);
  ASSERT_TRUE(action.cors_policy);
  EXPECT_EQ(action.cors_policy->allow_origins, std::vector<std::string>{"https://a.example.com"});
  EXPECT_EQ(action.cors_policy->allow_methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(action.cors_policy->allow_headers, std::vector<std::string>{"X-A"});
  EXPECT_EQ(action.cors_policy->expose_headers, std::vector<std::string>{"X-B"});
  EXPECT_EQ(action.cors_policy->max_age, 600);
  EXPECT_TRUE(action.cors_policy->allow_credentials);
  EXPECT_FALSE(action.cors_policy->disabled);
  ASSERT_TRUE(action.fault_injection_policy);
  ASSERT_TRUE(action.fault_injection_policy->delay);
  EXPECT_EQ(action.fault_injection_policy->delay->fixed_delay.seconds, 1);
  EXPECT_EQ(action.fault_injection_policy->delay->fixed_delay.nanos, 2);
  EXPECT_DOUBLE_EQ(action.fault_injection_policy->delay->percentage, 12.5);
  ASSERT_TRUE(action.fault_injection_policy->abort);
  EXPECT_EQ(action.fault_injection_policy->abort->http_status, 503u);
  EXPECT_DOUBLE_EQ(action.fault_injection_policy->abort->percentage, 0.5);
  ASSERT_TRUE(rule.header_action);
  EXPECT_EQ(rule.header_action->request_headers_to_add.at(0).header_value, "{client_cert_present}");

  const model::HttpRouteRule& templated = matcher.route_rules[1];
  EXPECT_EQ(templated.match_rules.at(0).path_template_match, "/static/{format=**}");
  EXPECT_EQ(templated.route_action->url_rewrite->path_template_rewrite, "/content/{format}");
  EXPECT_EQ(templated.service->name, "web-backend");

  const model::HttpRedirectAction& prefix = *matcher.route_rules[2].url_redirect;
  EXPECT_EQ(prefix.prefix_redirect, "/new/");
  EXPECT_TRUE(prefix.https_redirect);
  EXPECT_TRUE(prefix.strip_query);
  EXPECT_EQ(prefix.redirect_response_code, model::RedirectResponseCode::kPermanentRedirect);
  const model::HttpRedirectAction& path = *matcher.route_rules[3].url_redirect;
  EXPECT_EQ(path.path_redirect, "/here");
  EXPECT_EQ(path.host_redirect, "other.example.com");
  EXPECT_FALSE(path.https_redirect);
  EXPECT_EQ(path.redirect_response_code, model::RedirectResponseCode::kFound);
  EXPECT_EQ(matcher.route_rules[4].url_redirect->redirect_response_code,
            model::RedirectResponseCode::kSeeOther);
  EXPECT_EQ(matcher.route_rules[5].url_redirect->redirect_response_code,
            model::RedirectResponseCode::kTemporaryRedirect);
}

TEST(Loader, UrlMapTests) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: web-backend
  tests:
  - description: default goes to web
    host: example.com
    path: /x?y=1
    headers:
    - name: Host
      value: example.com
    - name: X-A
      value: b
    service: web-backend
    expectedOutputUrl: http://example.com/x?y=1
  - host: example.com
    path: /old
    expectedOutputUrl: https://example.com/new
    expectedRedirectResponseCode: 308
)yaml");
  const model::UrlMap& map = result.config.url_maps.at(0);
  ASSERT_EQ(map.tests.size(), 2u);
  EXPECT_EQ(map.tests[0].description, "default goes to web");
  EXPECT_EQ(map.tests[0].host, "example.com");
  EXPECT_EQ(map.tests[0].path, "/x?y=1");
  ASSERT_EQ(map.tests[0].headers.size(), 2u);
  EXPECT_EQ(map.tests[0].headers[1].name, "X-A");
  EXPECT_EQ(map.tests[0].headers[1].value, "b");
  EXPECT_EQ(map.tests[0].service->name, "web-backend");
  EXPECT_EQ(map.tests[0].expected_output_url, "http://example.com/x?y=1");
  EXPECT_FALSE(map.tests[0].expected_redirect_response_code);
  EXPECT_EQ(map.tests[1].expected_redirect_response_code, 308);
  EXPECT_FALSE(map.tests[1].service);
  EXPECT_TRUE(testing::no_error_at(result, "urlMaps[lb-map].tests"));
}

TEST(Loader, DefaultRouteActionWithWeightedServicesAndMirror) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultRouteAction:
    weightedBackendServices:
    - backendService: projects/my-project/regions/europe-west1/backendServices/web-backend
      weight: 1000
    requestMirrorPolicy:
      backendService: login-backend
      mirrorPercent: 25.5
  hostRules:
  - hosts: [a.example.com]
    pathMatcher: m
  pathMatchers:
  - name: m
    defaultRouteAction:
      weightedBackendServices:
      - backendService: login-backend
        weight: 0
      - backendService: web-backend
        weight: 1
)yaml");
  // A mirror to a serverless backend is refused by validate_config; the fields still load.
  EXPECT_TRUE(testing::no_error_at(result, "urlMaps[lb-map].defaultRouteAction.weighted"));
  EXPECT_TRUE(testing::no_error_at(result, "urlMaps[lb-map].pathMatchers"));
  EXPECT_TRUE(testing::no_error_at(
      result, "urlMaps[lb-map].defaultRouteAction.requestMirrorPolicy.mirrorPercent"));
  const model::UrlMap& map = result.config.url_maps.at(0);
  EXPECT_FALSE(map.default_service);
  ASSERT_TRUE(map.default_route_action);
  ASSERT_EQ(map.default_route_action->weighted_backend_services.size(), 1u);
  EXPECT_EQ(map.default_route_action->weighted_backend_services[0].weight, 1000u);
  EXPECT_EQ(map.default_route_action->weighted_backend_services[0].backend_service.project,
            "my-project");
  ASSERT_TRUE(map.default_route_action->request_mirror_policy);
  EXPECT_EQ(map.default_route_action->request_mirror_policy->backend_service.name, "login-backend");
  EXPECT_EQ(map.default_route_action->request_mirror_policy->mirror_percent, 25.5);
  const model::PathMatcher& matcher = map.path_matchers.at(0);
  ASSERT_TRUE(matcher.default_route_action);
  EXPECT_EQ(matcher.default_route_action->weighted_backend_services.at(0).weight, 0u);
  EXPECT_EQ(matcher.default_route_action->weighted_backend_services.at(1).backend_service.name,
            "web-backend");
}

TEST(Loader, ResourcesTakeDocumentDefaultsOrTheirOwn) {
  LoadResult result = load_config_text(R"yaml(
project: p1
region: asia-east1
cloudRunServices:
- name: a
- name: b
  project: p2
  region: https://www.googleapis.com/compute/v1/projects/p2/regions/us-west1
)yaml",
                                       "x.yaml");
  const auto& services = result.config.cloud_run_services;
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].project, "p1");
  EXPECT_EQ(services[0].region, "asia-east1");
  EXPECT_EQ(services[1].project, "p2");
  EXPECT_EQ(services[1].region, "us-west1");
}

TEST(Loader, WithoutDefaultsTheConfigDefaultsApply) {
  LoadResult result = load_config_text("cloudRunServices:\n- name: a\n", "x.yaml");
  ASSERT_EQ(result.config.cloud_run_services.size(), 1u);
  EXPECT_EQ(result.config.cloud_run_services[0].project, "albemu-project");
  EXPECT_EQ(result.config.cloud_run_services[0].region, "us-central1");
}

TEST(Loader, OutputOnlyFieldsAreIgnored) {
  LoadResult result = load_with(R"yaml(
urlMaps:
- name: lb-map
  id: "1234567890"
  kind: compute#urlMap
  selfLink: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/urlMaps/lb-map
  creationTimestamp: "2024-01-01T00:00:00.000-08:00"
  fingerprint: abc=
  region: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1
  defaultService: web-backend
)yaml");
  EXPECT_TRUE(result.ok()) << format_errors(result.errors);
  EXPECT_EQ(result.config.url_maps.at(0).region, "europe-west1");
}

TEST(Loader, EmptyFileIsAnError) {
  // A file caught halfway through a save must not reload as "no listeners".
  for (const char* text : {"", "\n", "# only a comment\n", "---\n"}) {
    LoadResult result = load_config_text(text, "empty.yaml");
    EXPECT_TRUE(has_error(result.errors, "empty.yaml", "", "holds no resources")) << text;
  }
}

}  // namespace
}  // namespace albemu::config
