#include "proxy/core/snapshot.h"

#include <charconv>
#include <utility>

#include "config/embedded_demo.h"
#include "proxy/core/header_action.h"
#include "proxy/core/rate_limiter.h"
#include "proxy/core/url_map_tests.h"

namespace albemu::core {
namespace {

constexpr std::string_view kEmbeddedName = "<embedded demo>";

template <typename Resource>
const Resource* find_by_name(const std::vector<Resource>& resources, std::string_view name) {
  for (const Resource& resource : resources) {
    if (resource.name == name) return &resource;
  }
  return nullptr;
}

/// "80" or "80-80" -> 80. Anything else was rejected by the loader; 0 here means unusable.
uint16_t parse_single_port(std::string_view port_range) {
  const std::string_view first = port_range.substr(0, port_range.find('-'));
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), port);
  if (ec != std::errc() || end != first.data() + first.size() || port > 65535) return 0;
  return static_cast<uint16_t>(port);
}

bool mentions_url_map(const config::ConfigError& error, const std::string& url_map) {
  const std::string prefix = "urlMaps[" + url_map + "]";
  return error.field_path.starts_with(prefix);
}

/// ListenerPlan::tls_fingerprints for an HTTPS listener serving `url_map`.
bool needs_tls_fingerprints(const model::Config& config, std::string_view url_map,
                            bool rate_limits_use_them) {
  if (rate_limits_use_them) return true;
  const model::UrlMap* map = find_by_name(config.url_maps, url_map);
  return map != nullptr && (uses_header_variable(*map, "tls_ja3_fingerprint") ||
                            uses_header_variable(*map, "tls_ja4_fingerprint"));
}

void plan_listeners(ConfigSnapshot& snapshot, config::ConfigErrors& errors) {
  const model::Config& config = snapshot.config;
  // Which backend service a request reaches is known per request only: a rate limit keyed on
  // a fingerprint turns them on for every HTTPS listener.
  const bool rate_limits_use_fingerprints =
      snapshot.rate_limiter && snapshot.rate_limiter->uses_tls_fingerprints();
  for (const model::ForwardingRule& rule : config.forwarding_rules) {
    ListenerPlan plan;
    plan.forwarding_rule = rule.name;
    plan.ip_address = rule.ip_address.empty() ? "0.0.0.0" : rule.ip_address;
    plan.port = parse_single_port(rule.port_range);
    if (rule.network) plan.network = rule.network->name;
    const std::string& collection = rule.target.collection;
    const model::TargetHttpProxy* http =
        collection == "targetHttpsProxies"
            ? nullptr
            : find_by_name(config.target_http_proxies, rule.target.name);
    const model::TargetHttpsProxy* https =
        collection == "targetHttpProxies"
            ? nullptr
            : find_by_name(config.target_https_proxies, rule.target.name);
    std::optional<int64_t> keepalive;
    if (http != nullptr) {
      plan.target_proxy = http->name;
      plan.url_map = http->url_map.name;
      keepalive = http->http_keep_alive_timeout_sec;
    } else if (https != nullptr) {
      plan.https = true;
      plan.target_proxy = https->name;
      plan.url_map = https->url_map.name;
      keepalive = https->http_keep_alive_timeout_sec;
      for (const model::ResourceRef& ref : https->ssl_certificates) {
        if (const auto* certificate = find_by_name(config.ssl_certificates, ref.name)) {
          plan.certificates.push_back(certificate);
        }
      }
      if (https->ssl_policy)
        plan.ssl_policy = find_by_name(config.ssl_policies, https->ssl_policy->name);
      if (https->server_tls_policy) {
        plan.server_tls_policy =
            find_by_name(config.server_tls_policies, https->server_tls_policy->name);
        if (plan.server_tls_policy && plan.server_tls_policy->client_validation_trust_config) {
          plan.trust_config = find_by_name(
              config.trust_configs, plan.server_tls_policy->client_validation_trust_config->name);
        }
      }
      plan.tls_fingerprints =
          needs_tls_fingerprints(config, plan.url_map, rate_limits_use_fingerprints);
    } else {
      errors.push_back({rule.origin.file, "forwardingRules[" + rule.name + "].target",
                        "target proxy '" + rule.target.text + "' is not declared"});
      continue;
    }
    if (keepalive) plan.keepalive_timeout = std::chrono::seconds(*keepalive);
    snapshot.listeners.push_back(std::move(plan));
  }
}

}  // namespace

const CompiledUrlMap* ConfigSnapshot::find_url_map(std::string_view name) const {
  const auto it = url_maps.find(name);
  return it == url_maps.end() ? nullptr : it->second.get();
}

const ListenerPlan* ConfigSnapshot::find_listener(std::string_view forwarding_rule) const {
  for (const ListenerPlan& plan : listeners) {
    if (plan.forwarding_rule == forwarding_rule) return &plan;
  }
  return nullptr;
}

const LogPolicy* ConfigSnapshot::find_log_policy(std::string_view backend_service) const {
  const auto found = log_policies.find(backend_service);
  return found == log_policies.end() ? nullptr : &found->second;
}

SnapshotResult build_snapshot(config::LoadResult loaded, uint64_t generation) {
  SnapshotResult result;
  result.errors = loaded.errors;
  auto snapshot = std::make_shared<ConfigSnapshot>();
  snapshot->generation = generation;
  snapshot->config = std::move(loaded.config);

  for (const model::UrlMap& url_map : snapshot->config.url_maps) {
    UrlMapValidation validation;
    validation.url_map = url_map.name;
    validation.file = url_map.origin.file;
    for (const config::ConfigError& error : loaded.errors) {
      if (mentions_url_map(error, url_map.name)) validation.load_errors.push_back(error);
    }
    if (validation.load_errors.empty()) {
      auto compiled = compile_url_map(url_map, validation.load_errors);
      if (compiled && validation.load_errors.empty()) {
        validation.test_failures = run_url_map_tests(url_map, *compiled);
        snapshot->url_maps.emplace(url_map.name, std::move(compiled));
      } else {
        result.errors.insert(result.errors.end(), validation.load_errors.begin(),
                             validation.load_errors.end());
      }
    }
    validation.load_succeeded = validation.load_errors.empty();
    validation.test_passed = validation.load_succeeded && validation.test_failures.empty();
    for (const UrlMapTestFailure& failure : validation.test_failures) {
      result.errors.push_back({url_map.origin.file, "urlMaps[" + url_map.name + "].tests",
                               "URL map test failed: " + failure.message});
    }
    result.validations.push_back(std::move(validation));
  }
  if (!result.errors.empty()) return result;

  snapshot->resolver = ServerlessResolver::create(snapshot->config, result.errors);
  snapshot->rate_limiter = RateLimiter::create(snapshot->config, result.errors);
  for (const model::BackendService& service : snapshot->config.backend_services) {
    snapshot->log_policies.emplace(service.name, compile_log_policy(service));
  }
  plan_listeners(*snapshot, result.errors);
  if (result.errors.empty()) result.snapshot = std::move(snapshot);
  return result;
}

config::LoadResult load_config_sources(const std::vector<std::string>& paths) {
  if (paths.empty()) return config::load_config_text(config::embedded_demo_config(), kEmbeddedName);
  return config::load_config_files(paths);
}

SnapshotResult load_snapshot(const std::vector<std::string>& paths, uint64_t generation) {
  return build_snapshot(load_config_sources(paths), generation);
}

}  // namespace albemu::core
