#pragma once
// Route tests are inline YAML -> load -> compile -> assert the decision. These helpers load a
// collection document with the real loader, compile its first URL map and route requests.

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_error.h"
#include "config/load/loader.h"
#include "proxy/core/route_decision.h"
#include "proxy/core/route_request.h"
#include "proxy/core/url_map.h"

namespace albemu::core::testing {

/// YAML declaring one stand-in Cloud Run service, and for each name a serverless NEG and a
/// backend service of that name, so URL maps in tests can reference them.
inline std::string backends(std::initializer_list<std::string_view> names) {
  std::string yaml = "cloudRunServices:\n  - name: app\nnetworkEndpointGroups:\n";
  for (std::string_view name : names) {
    yaml += "  - name: " + std::string(name) + "-neg\n    networkEndpointType: SERVERLESS\n" +
            "    cloudRun:\n      service: app\n";
  }
  yaml += "backendServices:\n";
  for (std::string_view name : names) {
    yaml += "  - name: " + std::string(name) + "\n    loadBalancingScheme: INTERNAL_MANAGED\n" +
            "    backends:\n      - group: " + std::string(name) + "-neg\n";
  }
  return yaml;
}

/// A loaded config and its first URL map, compiled.
struct LoadedUrlMap {
  config::LoadResult loaded;
  config::ConfigErrors compile_errors;
  std::shared_ptr<const CompiledUrlMap> compiled;  // null when loading or compiling failed

  const model::UrlMap& model() const { return loaded.config.url_maps.front(); }
};

/// Loads `yaml` and compiles its first URL map, without judging the outcome.
inline LoadedUrlMap try_load_url_map(std::string_view yaml) {
  LoadedUrlMap out{config::load_config_text(yaml, "test.yaml"), {}, nullptr};
  if (!out.loaded.ok() || out.loaded.config.url_maps.empty()) return out;
  out.compiled = compile_url_map(out.loaded.config.url_maps.front(), out.compile_errors);
  return out;
}

/// Loads and compiles `yaml`, failing the test on any load or compile error. Check the
/// result with ASSERT_TRUE(map) before use.
inline std::shared_ptr<const CompiledUrlMap> compile_yaml(std::string_view yaml) {
  LoadedUrlMap out = try_load_url_map(yaml);
  EXPECT_TRUE(out.loaded.ok()) << config::format_errors(out.loaded.errors);
  EXPECT_FALSE(out.loaded.config.url_maps.empty()) << "the YAML declares no URL map";
  EXPECT_TRUE(out.compile_errors.empty()) << config::format_errors(out.compile_errors);
  return out.compiled;
}

/// Load and compile errors of `yaml`, one per line (empty when it compiles).
inline std::string errors_of(std::string_view yaml) {
  LoadedUrlMap out = try_load_url_map(yaml);
  return config::format_errors(out.loaded.errors) + config::format_errors(out.compile_errors);
}

/// A request that owns its strings, turned into a RouteRequest for one route() call.
struct TestRequest {
  std::string host = "example.com";
  std::string target = "/";
  std::string method = "GET";
  std::string scheme = "http";
  uint16_t listener_port = 80;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Routes `request` (its Host header is added to the header list, as a client sends it).
inline RouteDecision route(const CompiledUrlMap& map, const TestRequest& request,
                           uint32_t weighted_draw = 0) {
  std::vector<HeaderView> headers;
  headers.push_back({"Host", request.host});
  for (const auto& [name, value] : request.headers) headers.push_back({name, value});
  RouteRequest route_request;
  route_request.method = request.method;
  route_request.scheme = request.scheme;
  route_request.host = request.host;
  route_request.target = request.target;
  route_request.listener_port = request.listener_port;
  route_request.headers = headers;
  return map.route(route_request, weighted_draw);
}

/// Shorthand: routes a GET for `host` and `target` with extra headers.
inline RouteDecision route(const CompiledUrlMap& map, std::string host, std::string target,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  TestRequest request;
  request.host = std::move(host);
  request.target = std::move(target);
  request.headers = std::move(headers);
  return route(map, request);
}

}  // namespace albemu::core::testing
