// Micro benchmarks of the request-time routing decision: URL map route() and the serverless
// resolver. Each iteration is one decision; requests rotate over a prepared set so that
// branch predictors and caches see a realistic mix rather than one repeated key.
//
//   albemu_bench --benchmark_min_time=0.5

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/model/resources.h"
#include "proxy/core/route_request.h"
#include "proxy/core/serverless_resolver.h"
#include "proxy/core/url_map.h"

namespace albemu {
namespace {

constexpr size_t kRequestCount = 4096;  // a power of two: rotation is a mask
constexpr int kCloudRunServices = 1000;
constexpr int kHostRules = 1000;
constexpr int kRouteRules = 200;

model::ResourceRef backend_ref(const std::string& name) {
  model::ResourceRef reference;
  reference.text = name;
  reference.name = name;
  return reference;
}

template <typename T>
T or_die(T value, const config::ConfigErrors& errors, const char* what) {
  if (!value) {
    std::cerr << what << " failed:\n" << config::format_errors(errors) << "\n";
    std::abort();
  }
  return value;
}

// ------------------------------------------------------------------ fixtures

/// `kCloudRunServices` Cloud Run services behind one `/<service>` mask NEG, plus a NEG with a
/// named service and one with a host mask, each behind its own backend service.
model::Config serverless_config() {
  model::Config config;
  for (int i = 0; i < kCloudRunServices; ++i) {
    model::CloudRunService service;
    service.name = "svc-" + std::to_string(i);
    service.urls = {"http://" + service.name + ":8080"};
    service.tags["canary"] = {"http://" + service.name + "-canary:8080"};
    config.cloud_run_services.push_back(std::move(service));
  }
  auto add = [&config](std::string name, std::optional<std::string> service,
                       std::optional<std::string> mask) {
    model::NetworkEndpointGroup neg;
    neg.name = "neg-" + name;
    neg.network_endpoint_type = "SERVERLESS";
    neg.cloud_run = model::CloudRunTarget{std::move(service), std::nullopt, std::move(mask)};
    config.network_endpoint_groups.push_back(std::move(neg));
    model::BackendService backend_service;
    backend_service.name = "bs-" + name;
    backend_service.load_balancing_scheme = "INTERNAL_MANAGED";
    backend_service.backends.push_back(model::Backend{backend_ref("neg-" + name), "", {}, ""});
    config.backend_services.push_back(std::move(backend_service));
  };
  add("path-mask", std::nullopt, "/<service>");
  add("host-mask", std::nullopt, "<tag>.<service>.example.com");
  add("named", "svc-42", std::nullopt);
  return config;
}

const core::ServerlessResolver& resolver() {
  static const std::shared_ptr<const core::ServerlessResolver> instance = [] {
    config::ConfigErrors errors;
    return or_die(core::ServerlessResolver::create(serverless_config(), errors), errors,
                  "ServerlessResolver::create");
  }();
  return *instance;
}

std::shared_ptr<const core::CompiledUrlMap> compile(const model::UrlMap& url_map) {
  config::ConfigErrors errors;
  return or_die(core::compile_url_map(url_map, errors), errors, "compile_url_map");
}

/// Paths naming random declared services (1 in 16 an undeclared one), with a tail and a query.
std::vector<std::string> mask_paths() {
  std::mt19937 random(7);
  std::vector<std::string> paths;
  for (size_t i = 0; i < kRequestCount; ++i) {
    int service = static_cast<int>(random() % kCloudRunServices);
    paths.push_back(i % 16 == 15
                        ? "/unknown-" + std::to_string(service) + "/web"
                        : "/svc-" + std::to_string(service) + "/web/page?id=" + std::to_string(i));
  }
  return paths;
}

// ------------------------------------------------------------------ (a) URL mask, end to end

void BM_RouteAndResolveUrlMask(benchmark::State& state) {
  model::UrlMap url_map;
  url_map.name = "mask-map";
  url_map.default_service = backend_ref("bs-path-mask");
  auto compiled = compile(url_map);
  const core::ServerlessResolver& serverless = resolver();
  std::vector<std::string> paths = mask_paths();

  size_t i = 0;
  size_t resolved = 0;
  for (auto _ : state) {
    core::RouteRequest request;
    request.host = "api.example.com";
    request.target = paths[i++ & (kRequestCount - 1)];
    core::RouteDecision decision = compiled->route(request);
    auto target = serverless.resolve(decision.backend_service, request.host, request.target);
    resolved += target.has_value();
    benchmark::DoNotOptimize(decision);
    benchmark::DoNotOptimize(target);
  }
  state.counters["resolved_ratio"] =
      benchmark::Counter(static_cast<double>(resolved) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteAndResolveUrlMask);

// ------------------------------------------------------------------ resolve() alone

void BM_ResolvePathMask(benchmark::State& state) {
  const core::ServerlessResolver& serverless = resolver();
  std::vector<std::string> paths = mask_paths();
  size_t i = 0;
  for (auto _ : state) {
    auto target =
        serverless.resolve("bs-path-mask", "api.example.com", paths[i++ & (kRequestCount - 1)]);
    benchmark::DoNotOptimize(target);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolvePathMask);

void BM_ResolveHostMask(benchmark::State& state) {
  const core::ServerlessResolver& serverless = resolver();
  std::mt19937 random(11);
  std::vector<std::string> hosts;
  for (size_t i = 0; i < kRequestCount; ++i) {
    std::string service = "svc-" + std::to_string(random() % kCloudRunServices);
    // Mixed case on some: the host capture is lower-cased before the lookup.
    hosts.push_back(i % 8 == 0 ? "CANARY." + service + ".Example.com:443"
                               : "canary." + service + ".example.com");
  }
  size_t i = 0;
  for (auto _ : state) {
    auto target = serverless.resolve("bs-host-mask", hosts[i++ & (kRequestCount - 1)], "/web");
    benchmark::DoNotOptimize(target);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveHostMask);

void BM_ResolveNamedService(benchmark::State& state) {
  const core::ServerlessResolver& serverless = resolver();
  for (auto _ : state) {
    auto target = serverless.resolve("bs-named", "api.example.com", "/login/web");
    benchmark::DoNotOptimize(target);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveNamedService);

// ------------------------------------------------------------------ (b) 1,000 host rules

/// Half the rules name exact hosts (`host-N.example.com`), half wildcards
/// (`*.zone-N.example.net`); 10 path matchers shared between them.
model::UrlMap host_rules_map() {
  model::UrlMap url_map;
  url_map.name = "hosts-map";
  url_map.default_service = backend_ref("bs-default");
  for (int m = 0; m < 10; ++m) {
    model::PathMatcher matcher;
    matcher.name = "matcher-" + std::to_string(m);
    matcher.default_service = backend_ref("bs-" + std::to_string(m));
    url_map.path_matchers.push_back(std::move(matcher));
  }
  for (int i = 0; i < kHostRules; ++i) {
    model::HostRule rule;
    rule.hosts = {i % 2 == 0 ? "host-" + std::to_string(i) + ".example.com"
                             : "*.zone-" + std::to_string(i) + ".example.net"};
    rule.path_matcher = "matcher-" + std::to_string(i % 10);
    url_map.host_rules.push_back(std::move(rule));
  }
  return url_map;
}

void BM_RouteHostRules(benchmark::State& state) {
  auto compiled = compile(host_rules_map());
  std::mt19937 random(3);
  std::vector<std::string> hosts;
  for (size_t i = 0; i < kRequestCount; ++i) {
    int rule = static_cast<int>(random() % kHostRules);
    switch (i % 3) {
      case 0:  // exact (even rule numbers), sometimes with a port and in upper case
        rule &= ~1;
        hosts.push_back(i % 9 == 0 ? "HOST-" + std::to_string(rule) + ".example.com:80"
                                   : "host-" + std::to_string(rule) + ".example.com");
        break;
      case 1:  // wildcard (odd rule numbers), one or two labels in front
        rule |= 1;
        hosts.push_back((i % 2 == 0 ? "a." : "a.b.") + std::string("zone-") + std::to_string(rule) +
                        ".example.net");
        break;
      default:  // no host rule: the URL map's default
        hosts.push_back("unknown-" + std::to_string(rule) + ".example.org");
        break;
    }
  }
  size_t i = 0;
  size_t unmatched = 0;
  for (auto _ : state) {
    core::RouteRequest request;
    request.host = hosts[i++ & (kRequestCount - 1)];
    request.target = "/index.html";
    core::RouteDecision decision = compiled->route(request);
    unmatched += decision.host_rule_hosts == nullptr;
    benchmark::DoNotOptimize(decision);
  }
  state.counters["default_ratio"] =
      benchmark::Counter(static_cast<double>(unmatched) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteHostRules);

// ------------------------------------------------------------------ (c) 200 route rules

/// One path matcher with `kRouteRules` rules: even rules match a path regex and an exact
/// `x-tenant` header, odd rules a prefix and a header regex.
model::UrlMap route_rules_map() {
  model::UrlMap url_map;
  url_map.name = "rules-map";
  url_map.default_service = backend_ref("bs-default");
  model::PathMatcher matcher;
  matcher.name = "rules";
  matcher.default_service = backend_ref("bs-matcher-default");
  for (int i = 0; i < kRouteRules; ++i) {
    const std::string n = std::to_string(i);
    model::HttpRouteRuleMatch match;
    model::HttpHeaderMatch header;
    header.header_name = "x-tenant";
    if (i % 2 == 0) {
      match.regex_match = "/api/v[0-9]+/item-" + n + "/[0-9]+";
      header.exact_match = "tenant-" + n;
    } else {
      match.prefix_match = "/p/" + n + "/";
      header.regex_match = "tenant-" + n + "(-[a-z]+)?";
    }
    match.header_matches.push_back(std::move(header));
    model::HttpRouteRule rule;
    rule.priority = (i + 1) * 10;
    rule.match_rules.push_back(std::move(match));
    rule.service = backend_ref("bs-rule-" + n);
    matcher.route_rules.push_back(std::move(rule));
  }
  url_map.path_matchers.push_back(std::move(matcher));
  model::HostRule host_rule;
  host_rule.hosts = {"*"};
  host_rule.path_matcher = "rules";
  url_map.host_rules.push_back(std::move(host_rule));
  return url_map;
}

struct RuleRequest {
  std::string target;
  std::vector<std::string> header_storage;  // tenant value
  std::vector<core::HeaderView> headers;
};

/// A request for rule `rule` (its path and header), or for none when rule < 0.
RuleRequest rule_request(int rule, int serial) {
  RuleRequest request;
  const std::string n = std::to_string(rule < 0 ? 9999 : rule);
  request.target = (rule >= 0 && rule % 2 == 1)
                       ? "/p/" + n + "/page?x=" + std::to_string(serial)
                       : "/api/v2/item-" + n + "/" + std::to_string(serial);
  request.header_storage.push_back("tenant-" + n + (rule % 4 == 1 ? "-eu" : ""));
  return request;
}

void bind_headers(RuleRequest& request) {
  request.headers = {{"user-agent", "bench/1.0"},
                     {"accept", "*/*"},
                     {"X-Tenant", request.header_storage[0]},
                     {"content-length", "0"}};
}

void run_rule_requests(benchmark::State& state, std::vector<RuleRequest>& requests) {
  auto compiled = compile(route_rules_map());
  for (RuleRequest& request : requests) bind_headers(request);
  const size_t mask = requests.size() - 1;  // size is a power of two
  size_t i = 0;
  for (auto _ : state) {
    const RuleRequest& prepared = requests[i++ & mask];
    core::RouteRequest request;
    request.host = "api.internal";
    request.target = prepared.target;
    request.headers = prepared.headers;
    core::RouteDecision decision = compiled->route(request);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}

/// Every request hits the rule at position state.range(0) (-1: none, the matcher's default).
void BM_RouteRulesAtPosition(benchmark::State& state) {
  const int rule = static_cast<int>(state.range(0));
  std::vector<RuleRequest> requests;
  for (int serial = 0; serial < 256; ++serial) requests.push_back(rule_request(rule, serial));
  run_rule_requests(state, requests);
}
BENCHMARK(BM_RouteRulesAtPosition)->Arg(0)->Arg(1)->Arg(50)->Arg(100)->Arg(199)->Arg(-1);

/// Requests spread uniformly over all rules plus 1 in 16 that matches none.
void BM_RouteRulesMixed(benchmark::State& state) {
  std::mt19937 random(5);
  std::vector<RuleRequest> requests;
  for (int serial = 0; serial < static_cast<int>(kRequestCount); ++serial) {
    int rule = serial % 16 == 15 ? -1 : static_cast<int>(random() % kRouteRules);
    requests.push_back(rule_request(rule, serial));
  }
  run_rule_requests(state, requests);
}
BENCHMARK(BM_RouteRulesMixed);

}  // namespace
}  // namespace albemu
