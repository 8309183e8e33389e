#include "proxy/core/rate_limiter.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "config/ip_address.h"
#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

using Clock = std::chrono::steady_clock;

/// An address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one compare works.
using config::IpAddress;
using config::IpRange;

/// A client address, also as written in URLs ("[::1]").
std::optional<IpAddress> parse_client_address(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  return config::parse_ip_address(text);
}

/// A srcIpRanges entry: a CIDR range or an address, or "*" (any client).
struct SourceRange {
  bool any = false;
  IpRange range;
};

std::optional<SourceRange> parse_source_range(std::string_view text) {
  if (text == "*") return SourceRange{true, {}};
  const auto range = config::parse_ip_range(text);
  if (!range) return std::nullopt;
  return SourceRange{false, *range};
}

enum class RuleAction { kAllow, kDeny, kThrottle };
enum class KeyKind {
  kAll,
  kIp,
  kHttpHeader,
  kXffIp,
  kHttpPath,
  kHttpCookie,
  kSni,
  kTlsJa3Fingerprint,
  kTlsJa4Fingerprint,
};

std::optional<KeyKind> parse_key_kind(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, KeyKind>, 9> kKinds = {{
      {"ALL", KeyKind::kAll},
      {"IP", KeyKind::kIp},
      {"HTTP_HEADER", KeyKind::kHttpHeader},
      {"XFF_IP", KeyKind::kXffIp},
      {"HTTP_PATH", KeyKind::kHttpPath},
      {"HTTP_COOKIE", KeyKind::kHttpCookie},
      {"SNI", KeyKind::kSni},
      {"TLS_JA3_FINGERPRINT", KeyKind::kTlsJa3Fingerprint},
      {"TLS_JA4_FINGERPRINT", KeyKind::kTlsJa4Fingerprint},
  }};
  if (text.empty()) return KeyKind::kAll;
  for (const auto& [name, kind] : kKinds) {
    if (name == text) return kind;
  }
  return std::nullopt;
}

struct CompiledRule {
  int64_t priority = 0;
  bool preview = false;
  std::string action_text;
  RuleAction action = RuleAction::kAllow;
  int deny_status = 0;              // kDeny, or the exceed status of kThrottle
  std::vector<SourceRange> ranges;  // empty: matches every request
  // kThrottle
  int64_t count = 0;
  std::chrono::seconds interval{0};
  KeyKind key_kind = KeyKind::kAll;
  std::string key_name;
};

struct CompiledPolicy {
  std::string name;
  std::vector<CompiledRule> rules;                   // ascending priority
  std::vector<std::string> user_ip_request_headers;  // lower-case
};

/// The policy's user IP, as text and parsed: the first userIpRequestHeaders header holding
/// one valid address, else the connection's address.
struct UserIp {
  std::string_view text;
  std::optional<IpAddress> address;
};

UserIp user_ip(const CompiledPolicy& policy, const RateLimitKeyInputs& inputs) {
  for (const std::string& name : policy.user_ip_request_headers) {
    const HeaderView* header = find_header(inputs.headers, name);
    if (header == nullptr) continue;
    const std::string_view value = trim_ows(header->value);
    if (auto address = parse_client_address(value)) return {value, address};
  }
  return {inputs.client_ip, parse_client_address(inputs.client_ip)};
}

std::string_view find_cookie(std::span<const HeaderView> headers, std::string_view name) {
  for (const HeaderView& header : headers) {
    if (!iequals_ascii(header.name, "cookie")) continue;
    std::string_view rest = header.value;
    while (!rest.empty()) {
      const auto end = rest.find(';');
      const std::string_view pair = trim_ows(rest.substr(0, end));
      const auto equals = pair.find('=');
      if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
        return pair.substr(equals + 1);
      }
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  }
  return {};
}

/// The key a throttle rule counts under. Cloud Armor falls back to ALL (one shared bucket,
/// the empty key) when the header, cookie, SNI or TLS fingerprint is missing (plain HTTP has
/// no fingerprint), and to the client IP for XFF_IP.
std::string_view rate_limit_key(const CompiledRule& rule, const RateLimitKeyInputs& inputs) {
  switch (rule.key_kind) {
    case KeyKind::kAll:
      return {};
    case KeyKind::kIp:
      return inputs.client_ip;
    case KeyKind::kHttpHeader: {
      const HeaderView* header = find_header(inputs.headers, rule.key_name);
      return header != nullptr ? header->value : std::string_view();
    }
    case KeyKind::kXffIp: {
      if (const HeaderView* header = find_header(inputs.headers, "x-forwarded-for")) {
        const std::string_view first = trim_ows(header->value.substr(0, header->value.find(',')));
        if (parse_client_address(first)) return first;
      }
      return inputs.client_ip;
    }
    case KeyKind::kHttpPath:
      return inputs.path;
    case KeyKind::kHttpCookie:
      return find_cookie(inputs.headers, rule.key_name);
    case KeyKind::kSni:
      return inputs.sni;
    case KeyKind::kTlsJa3Fingerprint:
      return inputs.tls_ja3_fingerprint;
    case KeyKind::kTlsJa4Fingerprint:
      return inputs.tls_ja4_fingerprint;
  }
  return {};
}

struct CounterKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

struct Window {
  Clock::time_point start;
  Clock::duration length;
  int64_t count = 0;
};

constexpr std::size_t kShardCount = 16;
constexpr auto kSweepEvery = std::chrono::seconds(1);

/// Counters for one slice of the keys. A request locks one shard for a map lookup only.
struct alignas(64) CounterShard {
  std::mutex mutex;
  std::unordered_map<std::string, Window, CounterKeyHash, std::equal_to<>> windows;
};

}  // namespace

class RateLimiterImpl {
 public:
  std::vector<CompiledPolicy> policies;
  std::map<std::string, std::size_t, std::less<>> policy_by_backend_service;
  mutable std::array<CounterShard, kShardCount> shards;
  mutable std::atomic<Clock::rep> next_sweep{0};

  /// At most once per kSweepEvery, one caller drops the windows that have ended in every
  /// shard, so memory tracks only keys seen within their interval. Called with no shard lock.
  void maybe_sweep(Clock::time_point now) const {
    Clock::rep due = next_sweep.load(std::memory_order_relaxed);
    if (now.time_since_epoch().count() < due) return;
    if (!next_sweep.compare_exchange_strong(due, (now + kSweepEvery).time_since_epoch().count())) {
      return;  // another thread is sweeping
    }
    for (CounterShard& shard : shards) {
      std::lock_guard lock(shard.mutex);
      std::erase_if(shard.windows, [now](const auto& entry) {
        return now >= entry.second.start + entry.second.length;
      });
    }
  }

  /// Counts one request of `key` under (backend service, rule); true if within the threshold.
  bool count(std::string_view backend_service, const CompiledRule& rule, std::string_view key,
             Clock::time_point now) const {
    // The full counter key; '\0' cannot appear in names, so parts cannot run together.
    thread_local std::string full_key;
    full_key.assign(backend_service);
    full_key += '\0';
    full_key += std::to_string(rule.priority);
    full_key += '\0';
    full_key += key;
    maybe_sweep(now);
    CounterShard& shard = shards[std::hash<std::string_view>{}(full_key) % kShardCount];
    std::lock_guard lock(shard.mutex);
    auto it = shard.windows.find(std::string_view(full_key));
    if (it == shard.windows.end()) {
      it = shard.windows.emplace(full_key, Window{now, rule.interval, 0}).first;
    } else if (now >= it->second.start + it->second.length) {
      it->second.start = now;
      it->second.count = 0;
    }
    return ++it->second.count <= rule.count;
  }
};

namespace {

std::string rule_path(const model::SecurityPolicy& policy, std::size_t index) {
  return "securityPolicies[" + policy.name + "].rules[" + std::to_string(index) + "]";
}

std::optional<CompiledPolicy> compile_policy(const model::SecurityPolicy& policy,
                                             config::ConfigErrors& errors) {
  CompiledPolicy compiled;
  compiled.name = policy.name;
  for (const std::string& header : policy.user_ip_request_headers) {
    compiled.user_ip_request_headers.push_back(ascii_lowered(header));
  }
  const std::size_t errors_before = errors.size();
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const model::SecurityPolicyRule& rule = policy.rules[i];
    CompiledRule out;
    out.priority = rule.priority;
    out.preview = rule.preview;
    out.action_text = rule.action;
    const std::string path = rule_path(policy, i);
    if (rule.action == "allow") {
      out.action = RuleAction::kAllow;
    } else if (const int status = parse_deny_status(rule.action); status != 0) {
      out.action = RuleAction::kDeny;
      out.deny_status = status;
    } else if (rule.action == "throttle" || rule.action == "rate_based_ban") {
      // rate_based_ban is counted like throttle; albemu does not model the ban period.
      out.action = RuleAction::kThrottle;
    } else {
      errors.push_back({policy.origin.file, path + ".action",
                        "unsupported action '" + rule.action +
                            "' (expected allow, deny(403|404|429|502) or throttle)"});
      continue;
    }
    if (rule.match) {
      for (std::size_t j = 0; j < rule.match->src_ip_ranges.size(); ++j) {
        const std::string& text = rule.match->src_ip_ranges[j];
        if (auto range = parse_source_range(text)) {
          out.ranges.push_back(*range);
        } else {
          errors.push_back({policy.origin.file,
                            path + ".match.config.srcIpRanges[" + std::to_string(j) + "]",
                            "'" + text + "' is not an IP address, CIDR range or *"});
        }
      }
    }
    if (out.action == RuleAction::kThrottle) {
      if (!rule.rate_limit_options) {
        errors.push_back({policy.origin.file, path + ".rateLimitOptions",
                          "a throttle rule needs rateLimitOptions"});
        continue;
      }
      const model::RateLimitOptions& options = *rule.rate_limit_options;
      out.count = options.rate_limit_threshold.count;
      out.interval = std::chrono::seconds(options.rate_limit_threshold.interval_sec);
      if (out.count <= 0 || out.interval.count() <= 0) {
        errors.push_back({policy.origin.file, path + ".rateLimitOptions.rateLimitThreshold",
                          "count and intervalSec must be positive"});
      }
      out.deny_status = parse_deny_status(options.exceed_action);
      if (out.deny_status == 0) {
        errors.push_back({policy.origin.file, path + ".rateLimitOptions.exceedAction",
                          "'" + options.exceed_action + "' is not deny(403|404|429|502)"});
      }
      if (auto kind = parse_key_kind(options.enforce_on_key)) {
        out.key_kind = *kind;
      } else {
        errors.push_back({policy.origin.file, path + ".rateLimitOptions.enforceOnKey",
                          "unsupported enforceOnKey '" + options.enforce_on_key + "'"});
      }
      out.key_name = options.enforce_on_key_name;
      if ((out.key_kind == KeyKind::kHttpHeader || out.key_kind == KeyKind::kHttpCookie) &&
          out.key_name.empty()) {
        errors.push_back({policy.origin.file, path + ".rateLimitOptions.enforceOnKeyName",
                          "required for enforceOnKey " + options.enforce_on_key});
      }
    }
    compiled.rules.push_back(std::move(out));
  }
  std::stable_sort(
      compiled.rules.begin(), compiled.rules.end(),
      [](const CompiledRule& a, const CompiledRule& b) { return a.priority < b.priority; });
  if (errors.size() != errors_before) return std::nullopt;
  return compiled;
}

bool rule_matches(const CompiledRule& rule, const std::optional<IpAddress>& client) {
  if (rule.ranges.empty()) return true;
  for (const SourceRange& source : rule.ranges) {
    if (source.any || (client && source.range.contains(*client))) return true;
  }
  return false;
}

}  // namespace

int parse_deny_status(std::string_view action) {
  if (action == "deny") return 403;
  if (!action.starts_with("deny(") || !action.ends_with(")")) return 0;
  const std::string_view digits = action.substr(5, action.size() - 6);
  int status = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), status);
  if (ec != std::errc() || end != digits.data() + digits.size()) return 0;
  if (status != 403 && status != 404 && status != 429 && status != 502) return 0;
  return status;
}

std::shared_ptr<RateLimiter> RateLimiter::create(const model::Config& config,
                                                 config::ConfigErrors& errors) {
  constexpr std::size_t kFailed = static_cast<std::size_t>(-1);
  auto impl = std::make_unique<RateLimiterImpl>();
  const std::size_t errors_before = errors.size();
  std::map<std::string, std::size_t, std::less<>> policy_index;
  for (const model::BackendService& service : config.backend_services) {
    if (!service.security_policy || service.security_policy->empty()) continue;
    const std::string& policy_name = service.security_policy->name;
    auto found = policy_index.find(policy_name);
    if (found == policy_index.end()) {
      const auto policy = std::find_if(
          config.security_policies.begin(), config.security_policies.end(),
          [&](const model::SecurityPolicy& candidate) { return candidate.name == policy_name; });
      if (policy == config.security_policies.end()) {
        errors.push_back({service.origin.file,
                          "backendServices[" + service.name + "].securityPolicy",
                          "security policy '" + service.security_policy->text + "' not found"});
        continue;
      }
      auto compiled = compile_policy(*policy, errors);
      if (compiled) impl->policies.push_back(std::move(*compiled));
      // A policy that failed is remembered too, so its errors are reported once.
      found =
          policy_index.emplace(policy_name, compiled ? impl->policies.size() - 1 : kFailed).first;
    }
    if (found->second == kFailed) continue;
    impl->policy_by_backend_service.emplace(service.name, found->second);
  }
  if (errors.size() != errors_before) return nullptr;
  return std::make_shared<RateLimiter>(std::move(impl));
}

RateLimiter::RateLimiter(std::unique_ptr<RateLimiterImpl> impl) : impl_(std::move(impl)) {}
RateLimiter::~RateLimiter() = default;

bool RateLimiter::uses_tls_fingerprints() const {
  // Only policies that a backend service uses are compiled.
  for (const CompiledPolicy& policy : impl_->policies) {
    for (const CompiledRule& rule : policy.rules) {
      if (rule.key_kind == KeyKind::kTlsJa3Fingerprint ||
          rule.key_kind == KeyKind::kTlsJa4Fingerprint) {
        return true;
      }
    }
  }
  return false;
}

bool RateLimiter::has_policy(std::string_view backend_service) const {
  return impl_->policy_by_backend_service.find(backend_service) !=
         impl_->policy_by_backend_service.end();
}

RateLimitVerdict RateLimiter::check(std::string_view backend_service,
                                    const RateLimitKeyInputs& inputs,
                                    std::chrono::steady_clock::time_point now) const {
  RateLimitVerdict verdict;
  const auto found = impl_->policy_by_backend_service.find(backend_service);
  if (found == impl_->policy_by_backend_service.end()) return verdict;
  const CompiledPolicy& policy = impl_->policies[found->second];
  const UserIp user = user_ip(policy, inputs);
  RateLimitKeyInputs keyed = inputs;
  keyed.client_ip = user.text;
  const std::optional<IpAddress>& client = user.address;
  for (const CompiledRule& rule : policy.rules) {
    if (!rule_matches(rule, client)) continue;
    if (rule.preview && verdict.preview) continue;  // only the first preview match is logged
    // What the rule gives: enforced, or only reported for a preview rule.
    bool allowed = true;
    std::string outcome = "ACCEPT";
    std::string key_text;
    std::string rate_outcome;
    switch (rule.action) {
      case RuleAction::kAllow:
        break;
      case RuleAction::kDeny:
        allowed = false;
        outcome = "DENY";
        break;
      case RuleAction::kThrottle: {
        const std::string_view key = rate_limit_key(rule, keyed);
        key_text = std::string(key);
        if (impl_->count(backend_service, rule, key, now)) {
          rate_outcome = "RATE_LIMIT_THRESHOLD_CONFORM";
        } else {
          allowed = false;
          outcome = "DENY";
          rate_outcome = "RATE_LIMIT_THRESHOLD_EXCEED";
        }
        break;
      }
    }
    if (rule.preview) {
      verdict.preview =
          PreviewOutcome{policy.name,        rule.priority,       rule.action_text,
                         std::move(outcome), std::move(key_text), std::move(rate_outcome)};
      continue;
    }
    verdict.policy_applied = true;
    verdict.policy_name = policy.name;
    verdict.rule_priority = rule.priority;
    verdict.configured_action = rule.action_text;
    verdict.allowed = allowed;
    verdict.deny_status = allowed ? 0 : rule.deny_status;
    verdict.outcome = std::move(outcome);
    verdict.rate_limited = rule.action == RuleAction::kThrottle;
    verdict.rate_limit_key = std::move(key_text);
    verdict.rate_limit_outcome = std::move(rate_outcome);
    return verdict;
  }
  return verdict;
}

std::size_t RateLimiter::tracked_keys() const {
  std::size_t total = 0;
  for (CounterShard& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    total += shard.windows.size();
  }
  return total;
}

}  // namespace albemu::core
