#include "proxy/core/url_map.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "config/field_path.h"
#include "proxy/core/ascii.h"
#include "proxy/core/header_action.h"
#include "proxy/core/url_map_impl.h"

namespace albemu::core {
namespace {

std::chrono::milliseconds to_millis(const model::Duration& duration) {
  return std::chrono::seconds(duration.seconds) +
         std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::nanoseconds(duration.nanos));
}

int redirect_status(model::RedirectResponseCode code) {
  switch (code) {
    case model::RedirectResponseCode::kMovedPermanentlyDefault:
      return 301;
    case model::RedirectResponseCode::kFound:
      return 302;
    case model::RedirectResponseCode::kSeeOther:
      return 303;
    case model::RedirectResponseCode::kTemporaryRedirect:
      return 307;
    case model::RedirectResponseCode::kPermanentRedirect:
      return 308;
  }
  return 301;
}

std::optional<uint32_t> retry_condition_bit(std::string_view condition) {
  static constexpr std::pair<std::string_view, uint32_t> kConditions[] = {
      {"5xx", kRetryOn5xx},
      {"gateway-error", kRetryOnGatewayError},
      {"connect-failure", kRetryOnConnectFailure},
      {"retriable-4xx", kRetryOnRetriable4xx},
      {"refused-stream", kRetryOnRefusedStream},
      {"cancelled", kRetryOnCancelled},
      {"deadline-exceeded", kRetryOnDeadlineExceeded},
      {"internal", kRetryOnInternal},
      {"resource-exhausted", kRetryOnResourceExhausted},
      {"unavailable", kRetryOnUnavailable},
  };
  for (const auto& [name, bit] : kConditions) {
    if (name == condition) return bit;
  }
  return std::nullopt;
}

// A `*` may only come first, followed by nothing, '.' or '-'.
bool valid_host_pattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return true;
  if (star != 0 || pattern.find('*', 1) != std::string_view::npos) return false;
  return pattern.size() == 1 || pattern[1] == '.' || pattern[1] == '-' || pattern[1] == ':';
}

using config::FieldPath;

/// Compiles one URL map, collecting errors with field paths.
class Compiler {
 public:
  Compiler(const model::UrlMap& url_map, config::ConfigErrors& errors, CompiledUrlMapImpl& impl)
      : url_map_(url_map), errors_(errors), impl_(impl) {}

  void run() {
    const std::string root = "urlMaps[" + url_map_.name + "]";
    const FieldPath root_path(root);
    const bool has_default = url_map_.default_service || url_map_.default_url_redirect ||
                             (url_map_.default_route_action &&
                              !url_map_.default_route_action->weighted_backend_services.empty());
    if (!has_default) {
      error(root,
            "one of defaultService, defaultUrlRedirect or "
            "defaultRouteAction.weightedBackendServices is required");
    }
    impl_.default_target = compile_target(root_path, "UNMATCHED", url_map_.default_service,
                                          url_map_.default_route_action,
                                          url_map_.default_url_redirect, TargetFields::kDefault);
    if (url_map_.header_action)
      impl_.header_action = compile_header_action(*url_map_.header_action);

    StringIndex matcher_index;
    impl_.path_matchers.reserve(url_map_.path_matchers.size());
    for (size_t i = 0; i < url_map_.path_matchers.size(); ++i) {
      const model::PathMatcher& matcher = url_map_.path_matchers[i];
      const FieldPath path(root_path, "pathMatchers", i);
      if (!matcher_index.emplace(matcher.name, static_cast<uint32_t>(i)).second) {
        error(FieldPath(path, "name").str(),
              "path matcher '" + matcher.name + "' is defined twice");
      }
      impl_.path_matchers.push_back(compile_path_matcher(path, matcher));
    }
    for (size_t i = 0; i < url_map_.host_rules.size(); ++i) {
      compile_host_rule(FieldPath(root_path, "hostRules", i), url_map_.host_rules[i],
                        matcher_index);
    }
  }

 private:
  void error(std::string field_path, std::string message) {
    errors_.push_back({url_map_.origin.file, std::move(field_path), std::move(message)});
  }

  void compile_host_rule(const FieldPath& path, const model::HostRule& rule,
                         const StringIndex& matcher_index) {
    auto matcher = matcher_index.find(rule.path_matcher);
    if (matcher == matcher_index.end()) {
      error(FieldPath(path, "pathMatcher").str(),
            "no path matcher named '" + rule.path_matcher + "'");
      return;
    }
    const auto rule_index = static_cast<uint32_t>(impl_.host_rules.size());
    impl_.host_rules.push_back({rule.hosts, matcher->second});
    for (size_t i = 0; i < rule.hosts.size(); ++i) {
      const std::string& host = rule.hosts[i];
      if (!valid_host_pattern(host)) {
        error(FieldPath(path, "hosts", i).str(),
              "'" + host + "': a '*' may only come first, followed by '.' or '-'");
      } else if (!impl_.host_matcher.add(host, rule_index)) {
        error(FieldPath(path, "hosts", i).str(),
              "host '" + host + "' appears in more than one host rule");
      }
    }
  }

  CompiledPathMatcher compile_path_matcher(const FieldPath& path,
                                           const model::PathMatcher& matcher) {
    CompiledPathMatcher compiled;
    compiled.name = matcher.name;
    if (matcher.header_action)
      compiled.header_action = compile_header_action(*matcher.header_action);
    compiled.default_target =
        compile_target(path, "UNMATCHED", matcher.default_service, matcher.default_route_action,
                       matcher.default_url_redirect, TargetFields::kDefault);
    if (!matcher.path_rules.empty() && !matcher.route_rules.empty()) {
      error(path.str(), "a path matcher may hold pathRules or routeRules, not both");
    }
    compiled.path_rules.reserve(matcher.path_rules.size());
    for (size_t i = 0; i < matcher.path_rules.size(); ++i) {
      const model::PathRule& rule = matcher.path_rules[i];
      const FieldPath rule_path(path, "pathRules", i);
      std::string label;
      for (const std::string& p : rule.paths) label += (label.empty() ? "" : ", ") + p;
      const auto index = static_cast<uint32_t>(compiled.path_rules.size());
      compiled.path_rules.push_back(compile_target(rule_path, std::move(label), rule.service,
                                                   rule.route_action, rule.url_redirect,
                                                   TargetFields::kRule));
      for (size_t j = 0; j < rule.paths.size(); ++j) {
        const std::string& p = rule.paths[j];
        const size_t star = p.find('*');
        if (p.empty() || p.front() != '/' || p.find_first_of("?#") != std::string::npos ||
            (star != std::string::npos && (star != p.size() - 1 || p[star - 1] != '/'))) {
          error(FieldPath(rule_path, "paths", j).str(),
                "'" + p + "': a path begins with '/' and may only end in '/*'");
          continue;
        }
        // The first rule listing a path keeps it, so list order breaks ties.
        if (star == std::string::npos) {
          compiled.exact_paths.emplace(p, index);
        } else {
          compiled.prefix_paths.emplace(p.substr(0, p.size() - 1), index);
        }
      }
    }
    compiled.route_rules.reserve(matcher.route_rules.size());
    for (size_t i = 0; i < matcher.route_rules.size(); ++i) {
      compiled.route_rules.push_back(
          compile_route_rule(FieldPath(path, "routeRules", i), matcher.route_rules[i]));
    }
    std::stable_sort(compiled.route_rules.begin(), compiled.route_rules.end(),
                     [](const CompiledRouteRule& a, const CompiledRouteRule& b) {
                       return a.priority < b.priority;
                     });
    return compiled;
  }

  CompiledRouteRule compile_route_rule(const FieldPath& path, const model::HttpRouteRule& rule) {
    CompiledRouteRule compiled;
    compiled.priority = rule.priority;
    std::string label = "priority " + std::to_string(rule.priority);
    if (!rule.description.empty()) label += " (" + rule.description + ")";
    for (size_t i = 0; i < rule.match_rules.size(); ++i) {
      compiled.match_rules.push_back(
          compile_match_rule(FieldPath(path, "matchRules", i), rule.match_rules[i]));
    }
    compiled.target = compile_target(path, label, rule.service, rule.route_action,
                                     rule.url_redirect, TargetFields::kRule);
    if (rule.header_action)
      compiled.target.header_action = compile_header_action(*rule.header_action);

    // A template rewrite reads variables, so every matchRule must capture the ones it names.
    if (rule.route_action && rule.route_action->url_rewrite &&
        rule.route_action->url_rewrite->path_template_rewrite) {
      const std::string& rewrite = *rule.route_action->url_rewrite->path_template_rewrite;
      const FieldPath action(path, "routeAction");
      const FieldPath url_rewrite(action, "urlRewrite");
      const FieldPath field(url_rewrite, "pathTemplateRewrite");
      for (const CompiledMatchRule& match : compiled.match_rules) {
        if (!match.path_template) {
          error(field.str(),
                "pathTemplateRewrite requires every matchRule to use pathTemplateMatch");
          break;
        }
        std::string reason;
        auto checked = PathTemplateRewrite::compile(rewrite, *match.path_template, reason);
        if (!checked) {
          error(field.str(), reason);
          break;
        }
        if (!compiled.target.path_template_rewrite) {
          compiled.target.path_template_rewrite = std::move(checked);
        }
      }
    }
    return compiled;
  }

  CompiledMatchRule compile_match_rule(const FieldPath& path,
                                       const model::HttpRouteRuleMatch& match) {
    CompiledMatchRule compiled;
    compiled.ignore_case = match.ignore_case;
    std::string reason;
    if (match.prefix_match) {
      compiled.kind = PathMatchKind::kPrefix;
      compiled.text = match.ignore_case ? ascii_lowered(*match.prefix_match) : *match.prefix_match;
    } else if (match.full_path_match) {
      compiled.kind = PathMatchKind::kFullPath;
      compiled.text =
          match.ignore_case ? ascii_lowered(*match.full_path_match) : *match.full_path_match;
    } else if (match.regex_match) {
      compiled.kind = PathMatchKind::kRegex;
      compiled.regex = compile_regex(*match.regex_match, reason);
      if (!compiled.regex) error(FieldPath(path, "regexMatch").str(), reason);
    } else if (match.path_template_match) {
      compiled.kind = PathMatchKind::kTemplate;
      compiled.path_template = PathTemplate::compile(*match.path_template_match, reason);
      if (!compiled.path_template) error(FieldPath(path, "pathTemplateMatch").str(), reason);
    }
    for (size_t i = 0; i < match.header_matches.size(); ++i) {
      auto header = HeaderMatcher::compile(match.header_matches[i], reason);
      if (!header) {
        error(FieldPath(FieldPath(path, "headerMatches", i), "regexMatch").str(), reason);
        continue;
      }
      compiled.headers.push_back(std::move(header));
    }
    for (size_t i = 0; i < match.query_parameter_matches.size(); ++i) {
      auto query = QueryParameterMatcher::compile(match.query_parameter_matches[i], reason);
      if (!query) {
        error(FieldPath(FieldPath(path, "queryParameterMatches", i), "regexMatch").str(), reason);
        continue;
      }
      compiled.query_parameters.push_back(std::move(query));
    }
    return compiled;
  }

  /// The fields a target is read from: a rule's (service, routeAction, urlRedirect) or a
  /// default's (defaultService, defaultRouteAction, defaultUrlRedirect), which may be unset.
  enum class TargetFields { kRule, kDefault };

  CompiledRouteTarget compile_target(const FieldPath& path, std::string label,
                                     const std::optional<model::ResourceRef>& service,
                                     const model::Boxed<model::HttpRouteAction>& route_action,
                                     const model::Boxed<model::HttpRedirectAction>& redirect,
                                     TargetFields fields) {
    CompiledRouteTarget target;
    target.label = std::move(label);
    target.policy = &impl_.default_policy;
    target.configured =
        service || redirect || (route_action && !route_action->weighted_backend_services.empty());
    if (!target.configured && fields == TargetFields::kRule) {
      error(path.str(),
            "one of service, urlRedirect or routeAction.weightedBackendServices is required");
    }
    if (service) target.backend_service = service->name;
    if (redirect) {
      CompiledRedirect compiled;
      compiled.host = redirect->host_redirect;
      compiled.path = redirect->path_redirect;
      compiled.prefix = redirect->prefix_redirect;
      compiled.https = redirect->https_redirect;
      compiled.strip_query = redirect->strip_query;
      compiled.status = redirect_status(redirect->redirect_response_code);
      target.redirect = std::move(compiled);
    }
    if (route_action) {
      const FieldPath action(path,
                             fields == TargetFields::kRule ? "routeAction" : "defaultRouteAction");
      compile_weighted(FieldPath(action, "weightedBackendServices"),
                       route_action->weighted_backend_services, target);
      if (route_action->url_rewrite) {
        target.host_rewrite = route_action->url_rewrite->host_rewrite;
        target.path_prefix_rewrite = route_action->url_rewrite->path_prefix_rewrite;
      }
      target.policy = compile_policy(action, *route_action);
    }
    return target;
  }

  void compile_weighted(const FieldPath& path,
                        const std::vector<model::WeightedBackendService>& entries,
                        CompiledRouteTarget& target) {
    if (entries.empty()) return;
    uint64_t total = 0;
    for (const auto& entry : entries) total += entry.weight;
    if (total == 0) {
      error(path.str(), "the weights sum to 0, so no backend service can be chosen");
      return;
    }
    uint64_t cumulative = 0;
    for (const auto& entry : entries) {
      cumulative += entry.weight;
      CompiledWeightedBackend compiled;
      compiled.backend_service = entry.backend_service.name;
      compiled.upper_bound = (cumulative << 32) / total;
      if (entry.header_action) compiled.header_action = compile_header_action(*entry.header_action);
      target.weighted.push_back(std::move(compiled));
    }
  }

  // Routes without settings of their own share the map's default policy.
  const CompiledRoutePolicy* compile_policy(const FieldPath& path,
                                            const model::HttpRouteAction& action) {
    if (!action.timeout && !action.retry_policy && !action.fault_injection_policy &&
        !action.cors_policy && !action.request_mirror_policy) {
      return &impl_.default_policy;
    }
    auto policy = std::make_unique<CompiledRoutePolicy>();
    if (action.timeout) {
      policy->timeout = to_millis(*action.timeout);
      policy->timeout_configured = true;
    }
    if (action.retry_policy) {
      CompiledRetryPolicy retry;
      for (size_t i = 0; i < action.retry_policy->retry_conditions.size(); ++i) {
        const std::string& condition = action.retry_policy->retry_conditions[i];
        if (auto bit = retry_condition_bit(condition)) {
          retry.retry_on |= *bit;
        } else {
          const FieldPath retry_policy(path, "retryPolicy");
          error(FieldPath(retry_policy, "retryConditions", i).str(),
                "unknown retry condition '" + condition + "'");
        }
      }
      retry.num_retries = action.retry_policy->num_retries.value_or(1);
      if (action.retry_policy->per_try_timeout) {
        retry.per_try_timeout = to_millis(*action.retry_policy->per_try_timeout);
      }
      policy->retry = retry;
    }
    policy->fault_injection = action.fault_injection_policy;
    policy->cors = action.cors_policy;
    policy->request_mirror = action.request_mirror_policy;
    impl_.policies.push_back(std::move(policy));
    return impl_.policies.back().get();
  }

  const model::UrlMap& url_map_;
  config::ConfigErrors& errors_;
  CompiledUrlMapImpl& impl_;
};

}  // namespace

CompiledUrlMap::~CompiledUrlMap() = default;

std::shared_ptr<const CompiledUrlMap> compile_url_map(const model::UrlMap& url_map,
                                                      config::ConfigErrors& errors) {
  const size_t errors_before = errors.size();
  auto impl = std::make_unique<CompiledUrlMapImpl>();
  Compiler(url_map, errors, *impl).run();
  if (errors.size() != errors_before) return nullptr;
  auto compiled = std::make_shared<CompiledUrlMap>();
  compiled->name = url_map.name;
  compiled->region = url_map.region;
  compiled->impl = std::move(impl);
  return compiled;
}

}  // namespace albemu::core
