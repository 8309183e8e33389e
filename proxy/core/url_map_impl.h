#pragma once
// Internal layout of a compiled URL map, shared by its compiler (url_map.cc) and its
// request-time lookup (url_map_route.cc). Not for use outside proxy/core.

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model/boxed.h"
#include "proxy/core/header_matcher.h"
#include "proxy/core/host_matcher.h"
#include "proxy/core/path_template.h"
#include "proxy/core/url_map.h"

namespace albemu::core {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIndex = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

/// One entry of a weighted split; chosen when the draw is below `upper_bound` (and not below
/// the previous entry's bound).
struct CompiledWeightedBackend {
  std::string backend_service;
  uint64_t upper_bound = 0;  // cumulative weight scaled to [0, 2^32]
  std::optional<CompiledHeaderAction> header_action;
};

struct CompiledRedirect {
  std::optional<std::string> host;    // hostRedirect
  std::optional<std::string> path;    // pathRedirect
  std::optional<std::string> prefix;  // prefixRedirect
  bool https = false;
  bool strip_query = false;
  int status = 301;
};

/// What a path rule, a route rule or a default does once selected.
struct CompiledRouteTarget {
  std::string label;            // RouteDecision::matched_rule
  std::string backend_service;  // short name; empty for a split or a redirect
  std::vector<CompiledWeightedBackend> weighted;
  model::Boxed<CompiledRedirect> redirect;  // on the heap: most targets forward
  std::optional<std::string> host_rewrite;
  std::optional<std::string> path_prefix_rewrite;
  std::unique_ptr<PathTemplateRewrite> path_template_rewrite;
  const CompiledRoutePolicy* policy = nullptr;
  model::Boxed<CompiledHeaderAction> header_action;  // route rules only (level 2)
  bool configured = false;  // false: a path matcher without defaults (falls back to the map's)
};

enum class PathMatchKind { kAny, kPrefix, kFullPath, kRegex, kTemplate };

struct CompiledMatchRule {
  PathMatchKind kind = PathMatchKind::kAny;
  bool ignore_case = false;
  std::string text;  // prefix or full path (lower-cased when ignore_case)
  std::unique_ptr<RE2> regex;
  std::unique_ptr<PathTemplate> path_template;
  std::vector<std::unique_ptr<HeaderMatcher>> headers;
  std::vector<std::unique_ptr<QueryParameterMatcher>> query_parameters;
};

struct CompiledRouteRule {
  int64_t priority = 0;
  std::vector<CompiledMatchRule> match_rules;
  CompiledRouteTarget target;
};

struct CompiledPathMatcher {
  std::string name;
  std::optional<CompiledHeaderAction> header_action;
  CompiledRouteTarget default_target;
  std::vector<CompiledRouteTarget> path_rules;
  StringIndex exact_paths;                     // path -> path_rules index
  StringIndex prefix_paths;                    // "/x/" (from "/x/*") -> path_rules index
  std::vector<CompiledRouteRule> route_rules;  // sorted by ascending priority
};

struct CompiledHostRule {
  std::vector<std::string> hosts;  // as written
  uint32_t path_matcher = 0;
};

class CompiledUrlMapImpl {
 public:
  HostMatcher host_matcher;  // pattern -> host_rules index
  std::vector<CompiledHostRule> host_rules;
  std::vector<CompiledPathMatcher> path_matchers;
  CompiledRouteTarget default_target;
  std::optional<CompiledHeaderAction> header_action;
  CompiledRoutePolicy default_policy;
  std::vector<std::unique_ptr<CompiledRoutePolicy>> policies;
};

}  // namespace albemu::core
