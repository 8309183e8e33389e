#include "proxy/admin/stats_json.h"

#include <string>

namespace albemu::admin {

namespace json = boost::json;

namespace {

json::object empty_entry() {
  return {{"requests", uint64_t{0}}, {"errors", uint64_t{0}}, {"codes", json::object{}}};
}

/// Adds `count` requests of `code_class` to a {requests, errors, codes} object.
void add_count(json::object& entry, const std::string& code_class, uint64_t count) {
  entry["requests"] = entry["requests"].as_uint64() + count;
  if (code_class == "5xx") entry["errors"] = entry["errors"].as_uint64() + count;
  json::object& codes = entry["codes"].as_object();
  const json::value* previous = codes.if_contains(code_class);
  codes[code_class] = (previous != nullptr ? previous->as_uint64() : 0) + count;
}

/// The object `group[name]`, created empty when missing.
json::object& find_or_add(json::object& group, const std::string& name) {
  if (json::value* existing = group.if_contains(name)) return existing->as_object();
  return group[name].emplace_object() = empty_entry();
}

}  // namespace

json::object stats_to_json(const log::MetricsTotals& totals) {
  json::object total = empty_entry();
  json::object rules;
  json::object url_maps;
  json::object backends;
  json::array series;
  for (const log::RequestCount& row : totals.requests) {
    add_count(total, row.code_class, row.count);
    add_count(find_or_add(rules, row.forwarding_rule), row.code_class, row.count);
    if (!row.url_map.empty()) {
      add_count(find_or_add(url_maps, row.url_map), row.code_class, row.count);
    }
    add_count(find_or_add(backends, row.backend_service), row.code_class, row.count);
    series.push_back(json::object{{"forwardingRule", row.forwarding_rule},
                                  {"urlMap", row.url_map},
                                  {"backendService", row.backend_service},
                                  {"codeClass", row.code_class},
                                  {"protocol", row.protocol},
                                  {"count", row.count}});
  }
  for (const log::RuleLatency& latency : totals.latencies) {
    if (latency.count == 0) continue;
    find_or_add(rules, latency.forwarding_rule)["averageLatencyMs"] =
        static_cast<double>(latency.sum_micros) / 1000.0 / static_cast<double>(latency.count);
  }
  return json::object{
      {"generation", totals.config_generation},
      {"retainedGenerations", totals.retained_generations},
      {"activeConnections", totals.active_connections},
      {"reloads",
       json::object{{"succeeded", totals.reloads_succeeded}, {"failed", totals.reloads_failed}}},
      {"total", std::move(total)},
      {"forwardingRules", std::move(rules)},
      {"urlMaps", std::move(url_maps)},
      {"backendServices", std::move(backends)},
      {"series", std::move(series)},
  };
}

}  // namespace albemu::admin
