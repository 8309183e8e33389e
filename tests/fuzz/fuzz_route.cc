// libFuzzer target: the routing core (URL map, serverless resolver, route explanation) given
// compiled configs and an arbitrary request.
//
// Input: "METHOD\nHOST\nTARGET\nName: value\n..." (missing parts are empty; a header line
// without ':' is a name with an empty value). The request is routed through every forwarding
// rule of the embedded demo config and of the example configs that load (tutorial,
// url-masks), as the data plane does (CompiledUrlMap::route, then ServerlessResolver::resolve
// on the client's host and path) and as `albemu route` does (explain_route).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/embedded_demo.h"
#include "config/load/loader.h"
#include "proxy/core/explain.h"
#include "proxy/core/route_decision.h"
#include "proxy/core/route_request.h"
#include "proxy/core/snapshot.h"
#include "proxy/core/url_map.h"

namespace {

namespace config = albemu::config;
namespace core = albemu::core;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::string_view next_line(std::string_view& input) {
  const std::size_t end = input.find('\n');
  const std::string_view line = input.substr(0, end);
  input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  return line;
}

std::vector<std::shared_ptr<const core::ConfigSnapshot>> load_snapshots() {
  std::vector<std::shared_ptr<const core::ConfigSnapshot>> snapshots;
  const auto demo = core::build_snapshot(
      config::load_config_text(albemu::config::embedded_demo_config(), "demo.yaml"), 1);
  if (!demo.snapshot) std::abort();  // the embedded config always loads
  snapshots.push_back(demo.snapshot);
  for (const char* name : {"tutorial.yaml", "url-masks.yaml"}) {
    const auto result =
        core::load_snapshot({std::string(ALBEMU_SOURCE_DIR "/config/examples/") + name}, 1);
    if (result.snapshot) snapshots.push_back(result.snapshot);
  }
  return snapshots;
}

const std::vector<std::shared_ptr<const core::ConfigSnapshot>>& snapshots() {
  static const auto* loaded =
      new std::vector<std::shared_ptr<const core::ConfigSnapshot>>(load_snapshots());
  return *loaded;
}

void check_decision(const core::ConfigSnapshot& snapshot, const core::RouteDecision& decision,
                    std::string_view host, std::string_view target) {
  if (decision.action == core::RouteAction::kRedirect) {
    check(decision.status >= 300 && decision.status < 400);
    check(!decision.location.empty());
    return;
  }
  check(!decision.backend_service.empty());
  check(decision.policy != nullptr);
  (void)core::merge_header_actions(decision);
  if (snapshot.resolver) {
    const std::string_view path = target.substr(0, target.find('?'));
    (void)snapshot.resolver->resolve(decision.backend_service, host, path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)snapshots();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view method = next_line(input);
  const std::string_view host = next_line(input);
  const std::string_view target = next_line(input);
  std::vector<core::HeaderView> headers;
  while (!input.empty() && headers.size() < 64) {
    const std::string_view line = next_line(input);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      headers.push_back({line, {}});
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.push_back({line.substr(0, colon), value});
  }
  const uint32_t draw = static_cast<uint32_t>(size) * 2654435761u;

  for (const auto& snapshot : snapshots()) {
    for (const auto& listener : snapshot->listeners) {
      const core::CompiledUrlMap* url_map = snapshot->find_url_map(listener.url_map);
      check(url_map != nullptr);
      core::RouteRequest request;
      request.method = method;
      request.scheme = listener.https ? "https" : "http";
      request.host = host;
      request.target = target;
      request.listener_port = listener.port;
      request.headers = headers;
      check_decision(*snapshot, url_map->route(request, draw), host, target);

      core::ExplainRequest explain;
      explain.url = std::string(request.scheme) + "://" + std::string(host) + std::string(target);
      explain.method = std::string(method);
      for (const auto& header : headers) explain.headers.emplace_back(header.name, header.value);
      explain.forwarding_rule = listener.forwarding_rule;
      (void)core::explain_route(*snapshot, explain);
    }
  }
  return 0;
}
