#pragma once
// Cloud Armor security policies attached to backend services (spec 4 "Cloud Armor" and section
// 0): rules by ascending priority, srcIpRanges matching, allow / deny(N) / throttle, with
// throttle counters shared by all workers.
//
// The user IP (https://cloud.google.com/armor/docs/user-ip-overview): with
// advancedOptionsConfig.userIpRequestHeaders, the first listed header whose whole value is a
// valid IP address is the client address that srcIpRanges and the IP key read; if none is,
// the connection's source address. Preview rules (`preview: true`) are evaluated in their
// place and reported, never enforced
// (https://cloud.google.com/armor/docs/request-logging: previewSecurityPolicy); evaluation
// goes on past them to the first enforced rule that matches.
//
// Counting is a fixed window per key: the first request of a key opens a window of
// `intervalSec`; requests beyond `count` inside it exceed; the next request after the window
// ends opens a new one. (Cloud Armor's exact algorithm is not documented; a fixed window is
// predictable in tests.) Windows that have ended are dropped about once a second, so memory
// holds only keys seen within their interval.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config_error.h"
#include "config/model/resources.h"
#include "proxy/core/route_request.h"

namespace albemu::core {

/// What a rate-limit key may be built from. Views into the caller's request.
struct RateLimitKeyInputs {
  std::string_view client_ip;            // peer address, no port ("10.0.0.7", "::1")
                                         // (the policy's userIpRequestHeaders may override it)
  std::span<const HeaderView> headers;   // request headers, names in any case
  std::string_view path;                 // request path (no query)
  std::string_view sni;                  // TLS server name, empty for plain HTTP
  std::string_view tls_ja3_fingerprint;  // empty for plain HTTP, or when the listener does
  std::string_view tls_ja4_fingerprint;  // not compute them (ListenerPlan::tls_fingerprints)
};

/// What a rule in preview mode would have done (`jsonPayload.previewSecurityPolicy`).
struct PreviewOutcome {
  std::string policy_name;
  int64_t rule_priority = 0;
  std::string configured_action;
  std::string outcome;  // "ACCEPT" | "DENY": what enforcing the rule would have given
  std::string rate_limit_key;
  std::string rate_limit_outcome;
};

/// The outcome of a policy for one request.
struct RateLimitVerdict {
  bool allowed = true;
  int deny_status = 0;  // when !allowed: 403, 404, 429 or 502

  /// False when the backend service has no policy or no rule matched: nothing to log.
  bool policy_applied = false;
  std::string policy_name;
  int64_t rule_priority = 0;
  std::string configured_action;   // the rule's action as written: "allow", "deny(403)", "throttle"
  std::string outcome;             // "ACCEPT" | "DENY"
  bool rate_limited = false;       // the matched rule is a throttle rule
  std::string rate_limit_key;      // the key counted (for the log), throttle only
  std::string rate_limit_outcome;  // RATE_LIMIT_THRESHOLD_CONFORM | RATE_LIMIT_THRESHOLD_EXCEED

  /// The first (highest-priority) preview rule that matched before the enforced one, if any.
  /// Preview rules are evaluated and counted but never change `allowed`.
  std::optional<PreviewOutcome> preview;
};

class RateLimiterImpl;

/// The compiled policies of one config snapshot. One object is shared by every worker thread;
/// check() is thread-safe. Counters live as long as the object (a reload starts fresh counts).
class RateLimiter {
 public:
  /// Compiles every backend service's securityPolicy. On errors (unknown policy, bad CIDR,
  /// bad action) appends them naming the field path and returns null. A config without
  /// policies gives a limiter that allows everything.
  static std::shared_ptr<RateLimiter> create(const model::Config& config,
                                             config::ConfigErrors& errors);

  ~RateLimiter();

  /// Any thread. Evaluates the policy of `backend_service` (short name) for one request at
  /// `now`, counting it against the matched throttle rule's key.
  RateLimitVerdict check(std::string_view backend_service, const RateLimitKeyInputs& inputs,
                         std::chrono::steady_clock::time_point now) const;

  /// True if `backend_service` has a security policy (lets callers skip building inputs).
  bool has_policy(std::string_view backend_service) const;

  /// True if a rate limit of a security policy that a backend service uses is keyed on
  /// TLS_JA3_FINGERPRINT or TLS_JA4_FINGERPRINT.
  bool uses_tls_fingerprints() const;

  /// Number of live counter keys (for tests of expiry).
  std::size_t tracked_keys() const;

  explicit RateLimiter(std::unique_ptr<RateLimiterImpl> impl);

 private:
  std::unique_ptr<RateLimiterImpl> impl_;
};

/// Parses "deny(429)" -> 429; 0 if `action` is not a deny.
int parse_deny_status(std::string_view action);

}  // namespace albemu::core
