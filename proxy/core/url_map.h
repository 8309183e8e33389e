#pragma once
// A URL map compiled once into an immutable table (hosts lower-cased, path rules sorted,
// RE2 regexes and path templates compiled). route() is a pure function, safe to call from
// any thread at once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/model/resources.h"
#include "proxy/core/route_decision.h"
#include "proxy/core/route_request.h"

namespace albemu::core {

struct HeaderAddition {
  std::string name;
  std::string value;
  bool replace = true;
  bool has_variable = false;  // value holds a {variable}: expanded per request; else as sent
};

/// One level's header action, ready to apply.
struct CompiledHeaderAction {
  std::vector<HeaderAddition> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderAddition> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
};

/// Retry conditions as bits.
enum RetryOn : uint32_t {
  kRetryOn5xx = 1u << 0,
  kRetryOnGatewayError = 1u << 1,
  kRetryOnConnectFailure = 1u << 2,
  kRetryOnRetriable4xx = 1u << 3,
  kRetryOnRefusedStream = 1u << 4,
  kRetryOnCancelled = 1u << 5,
  kRetryOnDeadlineExceeded = 1u << 6,
  kRetryOnInternal = 1u << 7,
  kRetryOnResourceExhausted = 1u << 8,
  kRetryOnUnavailable = 1u << 9,
};

struct CompiledRetryPolicy {
  uint32_t retry_on = 0;  // RetryOn bits
  uint32_t num_retries = 1;
  std::optional<std::chrono::milliseconds> per_try_timeout;  // unset: the route timeout
};

/// Per-route settings the data plane executes. Shared by every decision of that route.
struct CompiledRoutePolicy {
  /// Route `timeout`; serverless backends otherwise get the fixed 60 minutes.
  std::chrono::milliseconds timeout{std::chrono::minutes(60)};
  bool timeout_configured = false;
  std::optional<CompiledRetryPolicy> retry;
  std::optional<model::FaultInjectionPolicy> fault_injection;
  std::optional<model::CorsPolicy> cors;
  std::optional<model::RequestMirrorPolicy> request_mirror;
};

class CompiledUrlMapImpl;

/// A compiled URL map. Create with compile_url_map().
struct CompiledUrlMap {
  std::string name;
  std::string region;
  std::unique_ptr<const CompiledUrlMapImpl> impl;

  /// Routes one request. `weighted_draw` is a uniform random number in [0, 2^32) used only
  /// when a weightedBackendServices split must be drawn, so tests can pin the outcome: entry i
  /// is chosen when the draw falls in its share of [0, 2^32) by cumulative weight / total.
  ///
  /// Choices where GCP is silent:
  /// - The "matched portion" that pathPrefixRewrite and prefixRedirect replace is the
  ///   prefixMatch prefix, `/x/` for a path rule `/x/*`, and the whole path for an exact path
  ///   rule, fullPathMatch, regexMatch and pathTemplateMatch. A default (of the URL map or of
  ///   a path matcher) acts as a catch-all prefix "/" (Envoy's translation), so its matched
  ///   portion is the leading '/': `/a/b` with pathPrefixRewrite `/v2/` becomes `/v2/a/b`.
  /// - A path matcher without defaults falls back to the URL map's defaults.
  /// - Query parameters are percent-decoded ('+' stays '+'); the first occurrence is matched.
  /// - A header sent several times is matched as its values joined with ','.
  /// - `presentMatch: false` matches when the header (or parameter) is absent.
  /// - Header actions are filled for redirects too; the data plane decides what applies.
  /// - matched_rule: "UNMATCHED" for defaults, a path rule's paths joined with ", ", a
  ///   route rule's "priority N" plus " (description)" when it has one.
  RouteDecision route(const RouteRequest& request, uint32_t weighted_draw = 0) const;

  ~CompiledUrlMap();
};

/// Compiles `url_map`. On failure appends errors naming the field path and returns null.
std::shared_ptr<const CompiledUrlMap> compile_url_map(const model::UrlMap& url_map,
                                                      config::ConfigErrors& errors);

/// The merged effect of a decision's header actions, as `albemu route` prints it.
struct MergedHeaderActions {
  std::vector<HeaderAddition> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderAddition> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
};
MergedHeaderActions merge_header_actions(const RouteDecision& decision);

}  // namespace albemu::core
