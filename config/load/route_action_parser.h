#pragma once
// Parsers for the URL map's building blocks, shared by the URL map, path matcher, path rule
// and route rule levels.

#include <string>
#include <vector>

#include "config/load/resource_parsers.h"
#include "config/load/yaml_cursor.h"
#include "config/model/resources.h"

namespace albemu::config {

/// What a route action may rewrite with: a pathTemplateRewrite needs every matchRule of the
/// route to be a pathTemplateMatch and may use only variables all of them capture.
struct RewriteContext {
  bool template_rewrite_allowed = false;
  std::vector<std::string> captured_variables;
};

model::HttpRouteAction parse_route_action(const YamlCursor& cursor, const model::Resource& owner,
                                          const RewriteContext& rewrite);
model::HttpRedirectAction parse_redirect_action(const YamlCursor& cursor);
model::HttpHeaderAction parse_header_action(const YamlCursor& cursor);
/// `template_variables` receives the variables of a pathTemplateMatch (nullopt when the rule
/// is not a template match).
model::HttpRouteRuleMatch parse_match_rule(
    const YamlCursor& cursor, std::optional<std::vector<std::string>>* template_variables);

/// The "one action" rule of every URL map level: at most one of service / urlRedirect /
/// routeAction.weightedBackendServices, a redirect never with a service or route action, and
/// (when `required`) at least one. `names` spells the level's field names for the message.
struct ActionChoice {
  bool service = false;
  bool redirect = false;
  bool route_action = false;
  bool weighted_backend_services = false;
};
struct ActionFieldNames {
  std::string_view service;
  std::string_view redirect;
  std::string_view route_action;
};
void check_action_choice(const YamlCursor& at, const ActionChoice& choice,
                         const ActionFieldNames& names, bool required);

}  // namespace albemu::config
