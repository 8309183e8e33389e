#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::core {

struct CompiledHeaderAction;
struct CompiledRoutePolicy;
struct CompiledUrlMap;

enum class RouteAction {
  kForward,   // send to backend_service (after rewrites)
  kRedirect,  // answer `status` with `location`
};

/// What routing decided for one request. Pointers point into the CompiledUrlMap that made
/// it, so a decision lives no longer than the snapshot pinned by the request.
struct RouteDecision {
  RouteAction action = RouteAction::kForward;

  // Explanation (for `albemu route`, logs and URL-map tests).
  const std::vector<std::string>* host_rule_hosts = nullptr;  // null: no host rule matched
  std::string_view path_matcher;                              // empty: none
  std::string_view matched_rule;  // readable rule description, "UNMATCHED" for defaults

  // kForward
  std::string_view backend_service;  // short name of the chosen backend service
  // Rewrites. Empty means "unchanged": send the client's Host / request-target as they
  // came, so a decision without a rewrite allocates nothing.
  std::string upstream_host;    // hostRewrite, else empty (= the client's Host)
  std::string upstream_target;  // rewritten path + original "?query", else empty (= client's)
  const CompiledRoutePolicy* policy = nullptr;  // timeout/retry/fault/cors; never null on forward

  // kRedirect
  int status = 0;
  std::string location;

  /// Header actions to apply, most specific first (GCP's order): weighted backend service,
  /// route rule, path matcher, URL map. Null entries are levels without an action.
  std::array<const CompiledHeaderAction*, 4> header_actions{};

  /// Back to a default-constructed decision, keeping the strings' storage (a keep-alive
  /// connection reuses one decision request after request).
  void reset();
  bool operator==(const RouteDecision&) const = default;
};

}  // namespace albemu::core
