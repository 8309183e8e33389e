// urlMaps: host rules, path matchers, path rules, route rules and tests.

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"
#include "config/load/route_action_parser.h"

namespace albemu::config {

namespace {

constexpr int64_t kMaxRouteRulePriority = 2147483647;
constexpr size_t kMaxTests = 100;

constexpr std::string_view kGlobalExternalOnly =
    " is only supported by global external Application Load Balancers";

/// The default action of a URL map or path matcher.
struct Defaults {
  std::optional<model::ResourceRef> service;
  model::Boxed<model::HttpRouteAction> route_action;
  model::Boxed<model::HttpRedirectAction> url_redirect;
};

Defaults parse_defaults(FieldReader& reader, const model::Resource& owner, bool required) {
  Defaults defaults;
  if (auto ref = reader.optional_reference("defaultService")) {
    defaults.service = complete_reference(*ref, owner);
  }
  YamlCursor route_action = reader.take("defaultRouteAction");
  if (route_action.present()) {
    defaults.route_action = parse_route_action(route_action, owner, RewriteContext{});
  }
  YamlCursor redirect = reader.take("defaultUrlRedirect");
  if (redirect.present()) defaults.url_redirect = parse_redirect_action(redirect);
  if (reader.valid()) {
    ActionChoice choice;
    choice.service = reader.has("defaultService");
    choice.redirect = redirect.present();
    choice.route_action = route_action.present();
    choice.weighted_backend_services =
        defaults.route_action && !defaults.route_action->weighted_backend_services.empty();
    check_action_choice(reader.cursor(), choice,
                        {"defaultService", "defaultUrlRedirect", "defaultRouteAction"}, required);
  }
  return defaults;
}

model::PathRule parse_path_rule(const YamlCursor& cursor, const model::Resource& owner,
                                std::unordered_map<std::string_view, YamlCursor>& seen_paths) {
  FieldReader reader(cursor);
  model::PathRule rule;
  YamlCursor paths = reader.take("paths");
  for (const YamlCursor& item : paths.items()) {
    std::optional<std::string> path = item.as_string();
    if (!path) continue;
    const std::string problem = check_path_rule_path(*path);
    if (!problem.empty()) {
      item.error(problem);
    } else if (auto [it, inserted] = seen_paths.emplace(item.node().scalar(), item); !inserted) {
      item.error("path '" + *path + "' is already used by " + it->second.path());
    }
    rule.paths.push_back(std::move(*path));
  }
  if (reader.valid() && rule.paths.empty() && !(paths.present() && !paths.node().is_sequence())) {
    paths.error("at least one path is required");
  }
  if (auto ref = reader.optional_reference("service"))
    rule.service = complete_reference(*ref, owner);
  YamlCursor route_action = reader.take("routeAction");
  if (route_action.present()) {
    rule.route_action = parse_route_action(route_action, owner, RewriteContext{});
  }
  YamlCursor redirect = reader.take("urlRedirect");
  if (redirect.present()) rule.url_redirect = parse_redirect_action(redirect);
  reader.reject("customErrorResponsePolicy",
                std::string("customErrorResponsePolicy") + std::string(kGlobalExternalOnly));
  if (reader.valid()) {
    ActionChoice choice;
    choice.service = reader.has("service");
    choice.redirect = redirect.present();
    choice.route_action = route_action.present();
    choice.weighted_backend_services =
        rule.route_action && !rule.route_action->weighted_backend_services.empty();
    check_action_choice(cursor, choice, {"service", "urlRedirect", "routeAction"}, true);
  }
  return rule;
}

model::HttpRouteRule parse_route_rule(const YamlCursor& cursor, const model::Resource& owner,
                                      std::map<int64_t, YamlCursor>& seen_priorities) {
  FieldReader reader(cursor);
  model::HttpRouteRule rule;
  rule.description = optional_bounded_string(reader, "description", 0, 1024).value_or("");
  YamlCursor priority = reader.take("priority");
  if (!priority.present() && reader.valid()) priority.error("is required");
  if (std::optional<int64_t> value = priority.as_int64(0, kMaxRouteRulePriority)) {
    rule.priority = *value;
    if (auto [it, inserted] = seen_priorities.emplace(*value, cursor); !inserted) {
      priority.error("priority " + std::to_string(*value) + " is already used by " +
                     it->second.path() + "; priorities must be unique within a path matcher");
    }
  }

  // A pathTemplateRewrite may use only variables that every matchRule captures.
  RewriteContext rewrite;
  std::vector<YamlCursor> match_items = reader.items("matchRules");
  rewrite.template_rewrite_allowed = !match_items.empty();
  bool first_template = true;
  for (const YamlCursor& item : match_items) {
    std::optional<std::vector<std::string>> variables;
    rule.match_rules.push_back(parse_match_rule(item, &variables));
    if (!rule.match_rules.back().path_template_match) {
      rewrite.template_rewrite_allowed = false;
      continue;
    }
    if (!variables) continue;
    if (first_template) {
      rewrite.captured_variables = *variables;
      first_template = false;
    } else {
      std::erase_if(rewrite.captured_variables, [&](const std::string& name) {
        return std::find(variables->begin(), variables->end(), name) == variables->end();
      });
    }
  }

  if (auto ref = reader.optional_reference("service"))
    rule.service = complete_reference(*ref, owner);
  YamlCursor route_action = reader.take("routeAction");
  if (route_action.present()) rule.route_action = parse_route_action(route_action, owner, rewrite);
  YamlCursor redirect = reader.take("urlRedirect");
  if (redirect.present()) rule.url_redirect = parse_redirect_action(redirect);
  YamlCursor header_action = reader.take("headerAction");
  if (header_action.present()) rule.header_action = parse_header_action(header_action);
  reader.reject("customErrorResponsePolicy",
                std::string("customErrorResponsePolicy") + std::string(kGlobalExternalOnly));
  if (reader.valid()) {
    ActionChoice choice;
    choice.service = reader.has("service");
    choice.redirect = redirect.present();
    choice.route_action = route_action.present();
    choice.weighted_backend_services =
        rule.route_action && !rule.route_action->weighted_backend_services.empty();
    check_action_choice(cursor, choice, {"service", "urlRedirect", "routeAction"}, true);
  }
  return rule;
}

model::PathMatcher parse_path_matcher(const YamlCursor& cursor, const model::Resource& owner) {
  FieldReader reader(cursor);
  model::PathMatcher matcher;
  YamlCursor name = reader.take("name");
  matcher.name = reader.required_string("name");
  if (!matcher.name.empty()) {
    std::string problem = check_resource_name(matcher.name);
    if (!problem.empty()) name.error(problem);
  }
  matcher.description = optional_bounded_string(reader, "description", 0, 1024).value_or("");
  Defaults defaults = parse_defaults(reader, owner, false);
  matcher.default_service = std::move(defaults.service);
  matcher.default_route_action = std::move(defaults.route_action);
  matcher.default_url_redirect = std::move(defaults.url_redirect);
  YamlCursor header_action = reader.take("headerAction");
  if (header_action.present()) matcher.header_action = parse_header_action(header_action);
  std::unordered_map<std::string_view, YamlCursor> seen_paths;
  const std::vector<YamlCursor> path_rules = reader.items("pathRules");
  matcher.path_rules.reserve(path_rules.size());
  for (const YamlCursor& item : path_rules) {
    matcher.path_rules.push_back(parse_path_rule(item, owner, seen_paths));
  }
  std::map<int64_t, YamlCursor> seen_priorities;
  const std::vector<YamlCursor> route_rules = reader.items("routeRules");
  matcher.route_rules.reserve(route_rules.size());
  for (const YamlCursor& item : route_rules) {
    matcher.route_rules.push_back(parse_route_rule(item, owner, seen_priorities));
  }
  if (!matcher.path_rules.empty() && !matcher.route_rules.empty()) {
    cursor.error("only one of pathRules and routeRules may be set in a path matcher");
  }
  reader.reject("defaultCustomErrorResponsePolicy",
                std::string("defaultCustomErrorResponsePolicy") + std::string(kGlobalExternalOnly));
  return matcher;
}

model::HostRule parse_host_rule(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::HostRule rule;
  rule.description = optional_bounded_string(reader, "description", 0, 1024).value_or("");
  YamlCursor hosts = reader.take("hosts");
  for (const YamlCursor& item : hosts.items()) {
    std::optional<std::string> host = item.as_string();
    if (!host) continue;
    std::string problem = check_host_pattern(*host);
    if (!problem.empty()) item.error(problem);
    rule.hosts.push_back(*host);
  }
  if (reader.valid() && rule.hosts.empty() && !(hosts.present() && !hosts.node().is_sequence())) {
    hosts.error("at least one host is required");
  }
  rule.path_matcher = reader.required_string("pathMatcher");
  return rule;
}

model::UrlMapTest parse_test(const YamlCursor& cursor, const model::Resource& owner) {
  FieldReader reader(cursor);
  model::UrlMapTest test;
  test.description = optional_bounded_string(reader, "description", 0, 1024).value_or("");
  test.host = reader.string("host");
  test.path = reader.required_string("path");
  for (const YamlCursor& item : reader.items("headers")) {
    FieldReader header_reader(item);
    model::UrlMapTestHeader header;
    header.name = header_reader.required_string("name");
    YamlCursor value = header_reader.take("value");
    header.value = value.as_string().value_or("");
    if (ascii_lower(header.name) == "host" && header.value != test.host) {
      value.error("a Host header must equal the test's host ('" + test.host + "')");
    }
    test.headers.push_back(std::move(header));
  }
  if (auto ref = reader.optional_reference("service"))
    test.service = complete_reference(*ref, owner);
  test.expected_output_url = reader.optional_string("expectedOutputUrl");
  YamlCursor code = reader.take("expectedRedirectResponseCode");
  if (std::optional<int64_t> value = code.as_int64(0, 999)) {
    static constexpr int64_t kRedirectCodes[] = {301, 302, 303, 307, 308};
    if (std::find(std::begin(kRedirectCodes), std::end(kRedirectCodes), *value) ==
        std::end(kRedirectCodes)) {
      code.error("expectedRedirectResponseCode must be 301, 302, 303, 307 or 308");
    }
    test.expected_redirect_response_code = static_cast<int>(*value);
  }
  if (reader.has("service") && code.present()) {
    cursor.error("only one of service and expectedRedirectResponseCode may be set");
  }
  return test;
}

}  // namespace

model::UrlMap parse_url_map(const YamlCursor& resource, const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::UrlMap url_map;
  read_resource_header(resource, reader, defaults, url_map);

  Defaults top = parse_defaults(reader, url_map, true);
  url_map.default_service = std::move(top.service);
  url_map.default_route_action = std::move(top.route_action);
  url_map.default_url_redirect = std::move(top.url_redirect);
  YamlCursor header_action = reader.take("headerAction");
  if (header_action.present()) url_map.header_action = parse_header_action(header_action);

  // Unique path matcher names, known hostRules[].pathMatcher and unique hosts are checked by
  // validate_config with the other references.
  const std::vector<YamlCursor> path_matchers = reader.items("pathMatchers");
  url_map.path_matchers.reserve(path_matchers.size());
  for (const YamlCursor& item : path_matchers) {
    url_map.path_matchers.push_back(parse_path_matcher(item, url_map));
  }
  const std::vector<YamlCursor> host_rules = reader.items("hostRules");
  url_map.host_rules.reserve(host_rules.size());
  for (const YamlCursor& item : host_rules) {
    url_map.host_rules.push_back(parse_host_rule(item));
  }
  YamlCursor tests = reader.take("tests");
  std::vector<YamlCursor> test_items = tests.items();
  if (test_items.size() > kMaxTests) {
    tests.error("at most 100 tests are allowed per URL map (got " +
                std::to_string(test_items.size()) + ")");
  }
  for (const YamlCursor& item : test_items) url_map.tests.push_back(parse_test(item, url_map));

  reader.reject("defaultCustomErrorResponsePolicy",
                std::string("defaultCustomErrorResponsePolicy") + std::string(kGlobalExternalOnly));
  return url_map;
}

}  // namespace albemu::config
