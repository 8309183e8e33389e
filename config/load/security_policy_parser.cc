// securityPolicies: Cloud Armor rules with IP matches and rate limits.

#include <algorithm>
#include <map>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"

namespace albemu::config {

namespace {

constexpr int64_t kMaxRulePriority = 2147483647;

/// An RFC 9110 token.
bool is_user_ip_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool is_deny_action(std::string_view action) {
  return action == "deny(403)" || action == "deny(404)" || action == "deny(429)" ||
         action == "deny(502)";
}

model::RateLimitOptions parse_rate_limit_options(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::RateLimitOptions options;
  YamlCursor threshold = reader.take("rateLimitThreshold");
  if (!threshold.present() && reader.valid()) threshold.error("is required");
  if (threshold.present()) {
    FieldReader threshold_reader(threshold);
    YamlCursor count = threshold_reader.take("count");
    if (!count.present() && threshold_reader.valid()) count.error("is required");
    options.rate_limit_threshold.count = count.as_int64(1, 1000000).value_or(0);
    YamlCursor interval = threshold_reader.take("intervalSec");
    if (!interval.present() && threshold_reader.valid()) interval.error("is required");
    if (std::optional<int64_t> value = interval.as_int64(INT64_MIN, INT64_MAX)) {
      static constexpr int64_t kIntervals[] = {10,  30,  60,   120,  180,  240, 300,
                                               600, 900, 1200, 1800, 2700, 3600};
      if (std::find(std::begin(kIntervals), std::end(kIntervals), *value) == std::end(kIntervals)) {
        interval.error(
            "intervalSec must be one of 10, 30, 60, 120, 180, 240, 300, 600, 900, "
            "1200, 1800, 2700, 3600");
      }
      options.rate_limit_threshold.interval_sec = *value;
    }
  }
  options.conform_action = reader.optional_enum("conformAction", {"allow"}).value_or("allow");
  YamlCursor exceed = reader.take("exceedAction");
  options.exceed_action = exceed.as_string().value_or("");
  if (!exceed.present() && reader.valid()) {
    exceed.error("is required");
  } else if (exceed.present() && !is_deny_action(options.exceed_action)) {
    exceed.error("exceedAction '" + options.exceed_action +
                 "' must be deny(403), deny(404), deny(429) or deny(502)");
  }
  options.enforce_on_key =
      reader
          .optional_enum("enforceOnKey",
                         {"ALL", "IP", "HTTP_HEADER", "XFF_IP", "HTTP_PATH", "HTTP_COOKIE", "SNI",
                          "TLS_JA3_FINGERPRINT", "TLS_JA4_FINGERPRINT"})
          .value_or("ALL");
  YamlCursor key_name = reader.take("enforceOnKeyName");
  options.enforce_on_key_name = key_name.as_string().value_or("");
  const bool needs_name =
      options.enforce_on_key == "HTTP_HEADER" || options.enforce_on_key == "HTTP_COOKIE";
  if (needs_name && options.enforce_on_key_name.empty() && reader.valid()) {
    key_name.error("is required when enforceOnKey is " + options.enforce_on_key);
  } else if (!needs_name && key_name.present()) {
    key_name.error("enforceOnKeyName is only used with enforceOnKey HTTP_HEADER or HTTP_COOKIE");
  }
  reader.reject("enforceOnKeyConfigs", "enforceOnKeyConfigs is not supported by albemu");
  reader.reject("banDurationSec", "banDurationSec only applies to the rate_based_ban action");
  reader.reject("banThreshold", "banThreshold only applies to the rate_based_ban action");
  reader.reject("exceedRedirectOptions",
                "redirect is only supported by global CLOUD_ARMOR policies");
  return options;
}

model::SecurityPolicyRuleMatch parse_rule_match(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::SecurityPolicyRuleMatch match;
  match.versioned_expr =
      reader.optional_enum("versionedExpr", {"SRC_IPS_V1"}).value_or("SRC_IPS_V1");
  YamlCursor config = reader.take("config");
  FieldReader config_reader(config);
  for (const YamlCursor& item : config_reader.items("srcIpRanges")) {
    std::optional<std::string> range = item.as_string();
    if (!range) continue;
    if (*range != "*") {
      std::string problem = check_ip_range(*range);
      if (!problem.empty()) item.error(problem);
    }
    match.src_ip_ranges.push_back(*range);
  }
  if (reader.valid() && match.src_ip_ranges.empty()) {
    config.field("srcIpRanges").error("at least one source IP range is required");
  }
  reader.reject("expr",
                "CEL expressions are not supported by albemu; use versionedExpr "
                "SRC_IPS_V1 with config.srcIpRanges");
  reader.reject("exprOptions", "CEL expressions are not supported by albemu");
  return match;
}

model::SecurityPolicyRule parse_rule(const YamlCursor& cursor,
                                     std::map<int64_t, YamlCursor>& seen_priorities) {
  FieldReader reader(cursor);
  model::SecurityPolicyRule rule;
  reader.ignore({"kind"});
  rule.description = reader.string("description");
  YamlCursor priority = reader.take("priority");
  if (!priority.present() && reader.valid()) priority.error("is required");
  if (std::optional<int64_t> value = priority.as_int64(0, kMaxRulePriority)) {
    rule.priority = *value;
    if (auto [it, inserted] = seen_priorities.emplace(*value, cursor); !inserted) {
      priority.error("priority " + std::to_string(*value) + " is already used by " +
                     it->second.path());
    }
  }
  YamlCursor action = reader.take("action");
  rule.action = action.as_string().value_or("");
  if (!action.present() && reader.valid()) {
    action.error("is required");
  } else if (action.present() && rule.action != "allow" && rule.action != "throttle" &&
             !is_deny_action(rule.action)) {
    action.error("action '" + rule.action +
                 "' must be allow, deny(403), deny(404), deny(429), deny(502) or throttle");
  }
  rule.preview = reader.flag("preview");
  YamlCursor match = reader.take("match");
  if (match.present()) {
    rule.match = parse_rule_match(match);
  } else if (reader.valid()) {
    match.error("is required");
  }
  YamlCursor rate_limit = reader.take("rateLimitOptions");
  if (rate_limit.present()) {
    if (rule.action != "throttle") {
      rate_limit.error("rateLimitOptions is only allowed with action throttle");
    }
    rule.rate_limit_options = parse_rate_limit_options(rate_limit);
  } else if (rule.action == "throttle") {
    rate_limit.error("is required when action is throttle");
  }
  reader.reject("headerAction", "rule headerAction is not supported by albemu");
  reader.reject("redirectOptions", "redirect is only supported by global CLOUD_ARMOR policies");
  reader.reject("preconfiguredWafConfig", "WAF rules are not supported by albemu");
  return rule;
}

}  // namespace

model::SecurityPolicy parse_security_policy(const YamlCursor& resource,
                                            const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::SecurityPolicy policy;
  read_resource_header(resource, reader, defaults, policy);
  policy.type = reader.optional_enum("type", {"CLOUD_ARMOR"}).value_or("CLOUD_ARMOR");
  std::map<int64_t, YamlCursor> seen_priorities;
  for (const YamlCursor& item : reader.items("rules")) {
    policy.rules.push_back(parse_rule(item, seen_priorities));
  }
  YamlCursor advanced = reader.take("advancedOptionsConfig");
  if (advanced.present()) {
    FieldReader advanced_reader(advanced);
    for (const YamlCursor& item : advanced_reader.items("userIpRequestHeaders")) {
      std::optional<std::string> name = item.as_string();
      if (!name) continue;
      if (!is_user_ip_header_name(*name)) {
        item.error("'" + *name + "' is not a valid header name");
        continue;
      }
      policy.user_ip_request_headers.push_back(*name);
    }
    // VERBOSE only adds detail about WAF matches to Cloud Armor's log
    // (https://cloud.google.com/armor/docs/verbose-logging); albemu has no WAF rules, so
    // both levels log the same.
    policy.log_level =
        advanced_reader.optional_enum("logLevel", {"NORMAL", "VERBOSE"}).value_or("NORMAL");
    // JSON parsing only feeds WAF rules' inspection of request bodies.
    YamlCursor json_parsing = advanced_reader.take("jsonParsing");
    if (json_parsing.present() && json_parsing.as_string().value_or("") != "DISABLED") {
      json_parsing.error(
          "jsonParsing other than DISABLED is not supported by albemu (it only serves WAF "
          "rules, which albemu does not have)");
    }
    advanced_reader.reject("jsonCustomConfig",
                           "jsonCustomConfig is not supported by albemu (it only serves WAF "
                           "rules, which albemu does not have)");
    advanced_reader.reject("requestBodyInspectionSize",
                           "requestBodyInspectionSize is not supported by albemu (it only "
                           "serves WAF rules, which albemu does not have)");
  }
  reader.ignore({"adaptiveProtectionConfig", "ruleVisibility", "ddosProtectionConfig"});
  return policy;
}

}  // namespace albemu::config
