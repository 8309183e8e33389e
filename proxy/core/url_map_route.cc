// CompiledUrlMap::route(): the request-time half of the URL map. No allocation unless a
// rewrite or a redirect has to build a string.

#include <charconv>

#include "proxy/core/ascii.h"
#include "proxy/core/url_map.h"
#include "proxy/core/url_map_impl.h"

namespace albemu::core {
namespace {

// `lowered` is already lower-case.
bool starts_with_ignore_case(std::string_view text, std::string_view lowered) {
  if (text.size() < lowered.size()) return false;
  for (size_t i = 0; i < lowered.size(); ++i) {
    if (ascii_lower(text[i]) != lowered[i]) return false;
  }
  return true;
}

// Where a rule matched: how much of the path counts as "the matched portion" for
// pathPrefixRewrite / prefixRedirect, and the template captures for pathTemplateRewrite.
struct PathMatch {
  size_t matched_length = 0;
  const PathTemplate* path_template = nullptr;
  TemplateCaptures captures;
};

bool path_predicate_matches(const CompiledMatchRule& rule, std::string_view path,
                            PathMatch& match) {
  switch (rule.kind) {
    case PathMatchKind::kAny:
      match.matched_length = path.starts_with('/') ? 1 : 0;
      return true;
    case PathMatchKind::kPrefix:
      if (rule.ignore_case ? !starts_with_ignore_case(path, rule.text)
                           : !path.starts_with(rule.text)) {
        return false;
      }
      match.matched_length = rule.text.size();
      return true;
    case PathMatchKind::kFullPath:
      if (rule.ignore_case
              ? !(path.size() == rule.text.size() && starts_with_ignore_case(path, rule.text))
              : path != rule.text) {
        return false;
      }
      match.matched_length = path.size();
      return true;
    case PathMatchKind::kRegex:
      if (!RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *rule.regex)) return false;
      match.matched_length = path.size();
      return true;
    case PathMatchKind::kTemplate:
      if (!rule.path_template->match(path, match.captures)) return false;
      match.path_template = rule.path_template.get();
      match.matched_length = path.size();
      return true;
  }
  return false;
}

bool match_rule_matches(const CompiledMatchRule& rule, const MatchInput& input, PathMatch& match) {
  if (!path_predicate_matches(rule, input.path, match)) return false;
  for (const auto& header : rule.headers) {
    if (!header->matches(input)) return false;
  }
  for (const auto& query : rule.query_parameters) {
    if (!query->matches(input)) return false;
  }
  return true;
}

// Longest path first: an exact path beats every prefix that also matches (a prefix that
// matches is never longer than the path itself); then prefixes from the longest down.
const CompiledRouteTarget* find_path_rule(const CompiledPathMatcher& matcher, std::string_view path,
                                          PathMatch& match) {
  if (!matcher.exact_paths.empty()) {
    auto exact = matcher.exact_paths.find(path);
    if (exact != matcher.exact_paths.end()) {
      match.matched_length = path.size();
      return &matcher.path_rules[exact->second];
    }
  }
  if (matcher.prefix_paths.empty()) return nullptr;
  for (size_t slash = path.rfind('/'); slash != std::string_view::npos;
       slash = slash == 0 ? std::string_view::npos : path.rfind('/', slash - 1)) {
    auto prefix = matcher.prefix_paths.find(path.substr(0, slash + 1));
    if (prefix != matcher.prefix_paths.end()) {
      match.matched_length = slash + 1;
      return &matcher.path_rules[prefix->second];
    }
  }
  return nullptr;
}

const CompiledRouteTarget* find_route_rule(const CompiledPathMatcher& matcher,
                                           const MatchInput& input, PathMatch& match) {
  for (const CompiledRouteRule& rule : matcher.route_rules) {
    for (const CompiledMatchRule& match_rule : rule.match_rules) {
      PathMatch candidate;
      if (match_rule_matches(match_rule, input, candidate)) {
        match = candidate;
        return &rule.target;
      }
    }
  }
  return nullptr;
}

void build_redirect(const CompiledRedirect& redirect, const RouteRequest& request,
                    const MatchInput& input, bool has_query, const PathMatch& match,
                    RouteDecision& decision) {
  decision.action = RouteAction::kRedirect;
  decision.status = redirect.status;
  std::string& location = decision.location;
  const std::string_view host = redirect.host ? std::string_view(*redirect.host) : request.host;
  location.reserve(16 + host.size() + input.path.size() + input.query.size());
  location += redirect.https ? std::string_view("https") : request.scheme;
  location += "://";
  location += host;
  if (redirect.path) {
    location += *redirect.path;
  } else if (redirect.prefix) {
    location += *redirect.prefix;
    location += input.path.substr(std::min(match.matched_length, input.path.size()));
  } else {
    location += input.path;
  }
  if (has_query && !redirect.strip_query) {
    location += '?';
    location += input.query;
  }
}

void apply_rewrites(const CompiledRouteTarget& target, const MatchInput& input, bool has_query,
                    const PathMatch& match, RouteDecision& decision) {
  if (target.host_rewrite) decision.upstream_host = *target.host_rewrite;
  std::string& out = decision.upstream_target;
  if (target.path_prefix_rewrite) {
    out.reserve(target.path_prefix_rewrite->size() + input.path.size() + input.query.size() + 1);
    out += *target.path_prefix_rewrite;
    out += input.path.substr(std::min(match.matched_length, input.path.size()));
  } else if (target.path_template_rewrite && match.path_template) {
    target.path_template_rewrite->apply(*match.path_template, match.captures, out);
  } else {
    return;
  }
  if (has_query) {
    out += '?';
    out += input.query;
  }
}

}  // namespace

RouteDecision CompiledUrlMap::route(const RouteRequest& request, uint32_t weighted_draw) const {
  const CompiledUrlMapImpl& map = *impl;
  RouteDecision decision;

  std::string_view target = request.target.substr(0, request.target.find('#'));
  const size_t question = target.find('?');
  const bool has_query = question != std::string_view::npos;
  MatchInput input;
  input.request = &request;
  input.path = target.substr(0, question);
  input.query = has_query ? target.substr(question + 1) : std::string_view();
  std::array<char, 6> port_digits{};
  input.port = split_host_port(request.host).port;
  if (input.port.empty()) {
    auto [end, ec] = std::to_chars(port_digits.data(), port_digits.data() + port_digits.size(),
                                   request.listener_port);
    if (ec == std::errc())
      input.port = std::string_view(port_digits.data(), end - port_digits.data());
  }

  // Defaults are a catch-all prefix "/" (as Envoy translates them): the matched portion
  // is the leading '/'.
  PathMatch match;
  match.matched_length = input.path.starts_with('/') ? 1 : 0;
  const CompiledRouteTarget* chosen = &map.default_target;
  if (map.header_action) decision.header_actions[3] = &*map.header_action;

  if (auto host_rule = map.host_matcher.find(request.host, request.listener_port)) {
    const CompiledHostRule& rule = map.host_rules[*host_rule];
    const CompiledPathMatcher& matcher = map.path_matchers[rule.path_matcher];
    decision.host_rule_hosts = &rule.hosts;
    decision.path_matcher = matcher.name;
    if (matcher.header_action) decision.header_actions[2] = &*matcher.header_action;
    const CompiledRouteTarget* hit = find_path_rule(matcher, input.path, match);
    if (hit == nullptr) hit = find_route_rule(matcher, input, match);
    if (hit != nullptr) {
      chosen = hit;
    } else if (matcher.default_target.configured) {
      chosen = &matcher.default_target;
    }
  }

  decision.matched_rule = chosen->label;
  if (chosen->header_action) decision.header_actions[1] = &*chosen->header_action;
  if (chosen->redirect) {
    build_redirect(*chosen->redirect, request, input, has_query, match, decision);
    return decision;
  }
  decision.action = RouteAction::kForward;
  decision.policy = chosen->policy;
  decision.backend_service = chosen->backend_service;
  for (const CompiledWeightedBackend& entry : chosen->weighted) {
    if (weighted_draw < entry.upper_bound) {
      decision.backend_service = entry.backend_service;
      if (entry.header_action) decision.header_actions[0] = &*entry.header_action;
      break;
    }
  }
  apply_rewrites(*chosen, input, has_query, match, decision);
  return decision;
}

}  // namespace albemu::core
