#include "proxy/core/header_action.h"

#include <algorithm>

#include "config/load/field_rules.h"
#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

std::vector<HeaderAddition> compile_additions(const std::vector<model::HeaderToAdd>& additions) {
  std::vector<HeaderAddition> out;
  out.reserve(additions.size());
  for (const model::HeaderToAdd& addition : additions) {
    HeaderAddition compiled;
    compiled.name = addition.header_name;
    compiled.has_variable = config::has_header_variable(addition.header_value);
    if (compiled.has_variable) {
      compiled.value = addition.header_value;  // expanded per request
    } else {
      config::expand_header_value(
          addition.header_value, [](std::string_view) { return std::string_view(); },
          compiled.value);
    }
    compiled.replace = addition.replace.value_or(!compiled.has_variable);
    out.push_back(std::move(compiled));
  }
  return out;
}

// Folds one level into the running result. Each level is applied as Envoy does: its
// removals first, then its additions in order. The merged result keeps that meaning:
// removals apply to the incoming headers, then the additions in list order.
void fold(const std::vector<HeaderAddition>& additions, const std::vector<std::string>& removals,
          std::vector<HeaderAddition>& merged_additions,
          std::vector<std::string>& merged_removals) {
  auto drop_additions_named = [&](std::string_view name) {
    std::erase_if(merged_additions,
                  [&](const HeaderAddition& earlier) { return iequals_ascii(earlier.name, name); });
  };
  for (const std::string& name : removals) {
    drop_additions_named(name);
    const bool known =
        std::any_of(merged_removals.begin(), merged_removals.end(),
                    [&](const std::string& other) { return iequals_ascii(other, name); });
    if (!known) merged_removals.push_back(name);
  }
  for (const HeaderAddition& addition : additions) {
    if (addition.replace) drop_additions_named(addition.name);
    merged_additions.push_back(addition);
  }
}

bool additions_use_variable(const std::vector<model::HeaderToAdd>& additions,
                            std::string_view variable) {
  for (const model::HeaderToAdd& addition : additions) {
    const std::string_view value = addition.header_value;
    std::size_t position = 0;
    while (const auto token = config::next_header_value_token(value, position)) {
      if (!token->escape && token->variable(value) == variable) return true;
      position = token->close + 1;
    }
  }
  return false;
}

bool action_uses_variable(const std::optional<model::HttpHeaderAction>& action,
                          std::string_view variable) {
  return action && (additions_use_variable(action->request_headers_to_add, variable) ||
                    additions_use_variable(action->response_headers_to_add, variable));
}

bool route_action_uses_variable(const model::Boxed<model::HttpRouteAction>& route_action,
                                std::string_view variable) {
  if (!route_action) return false;
  for (const model::WeightedBackendService& weighted : route_action->weighted_backend_services) {
    if (action_uses_variable(weighted.header_action, variable)) return true;
  }
  return false;
}

}  // namespace

bool uses_header_variable(const model::UrlMap& url_map, std::string_view variable) {
  if (action_uses_variable(url_map.header_action, variable) ||
      route_action_uses_variable(url_map.default_route_action, variable)) {
    return true;
  }
  for (const model::PathMatcher& matcher : url_map.path_matchers) {
    if (action_uses_variable(matcher.header_action, variable) ||
        route_action_uses_variable(matcher.default_route_action, variable)) {
      return true;
    }
    for (const model::PathRule& rule : matcher.path_rules) {
      if (route_action_uses_variable(rule.route_action, variable)) return true;
    }
    for (const model::HttpRouteRule& rule : matcher.route_rules) {
      if (action_uses_variable(rule.header_action, variable) ||
          route_action_uses_variable(rule.route_action, variable)) {
        return true;
      }
    }
  }
  return false;
}

CompiledHeaderAction compile_header_action(const model::HttpHeaderAction& action) {
  CompiledHeaderAction compiled;
  compiled.request_headers_to_add = compile_additions(action.request_headers_to_add);
  compiled.request_headers_to_remove = action.request_headers_to_remove;
  compiled.response_headers_to_add = compile_additions(action.response_headers_to_add);
  compiled.response_headers_to_remove = action.response_headers_to_remove;
  return compiled;
}

MergedHeaderActions merge_header_actions(const RouteDecision& decision) {
  MergedHeaderActions merged;
  // Most specific level first, so with replace=true an outer level's value wins.
  for (const CompiledHeaderAction* level : decision.header_actions) {
    if (level == nullptr) continue;
    fold(level->request_headers_to_add, level->request_headers_to_remove,
         merged.request_headers_to_add, merged.request_headers_to_remove);
    fold(level->response_headers_to_add, level->response_headers_to_remove,
         merged.response_headers_to_add, merged.response_headers_to_remove);
  }
  return merged;
}

}  // namespace albemu::core
