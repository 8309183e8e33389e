#include "proxy/core/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace albemu::core {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

model::SecurityPolicyRule throttle_rule(int64_t priority, int64_t count, int64_t interval,
                                        std::string key, std::string key_name = "",
                                        std::vector<std::string> ranges = {"*"}) {
  model::SecurityPolicyRule rule;
  rule.priority = priority;
  rule.action = "throttle";
  rule.match = model::SecurityPolicyRuleMatch{"SRC_IPS_V1", std::move(ranges)};
  model::RateLimitOptions options;
  options.rate_limit_threshold = {count, interval};
  options.exceed_action = "deny(429)";
  options.enforce_on_key = std::move(key);
  options.enforce_on_key_name = std::move(key_name);
  rule.rate_limit_options = options;
  return rule;
}

model::SecurityPolicyRule simple_rule(int64_t priority, std::string action,
                                      std::vector<std::string> ranges) {
  model::SecurityPolicyRule rule;
  rule.priority = priority;
  rule.action = std::move(action);
  rule.match = model::SecurityPolicyRuleMatch{"SRC_IPS_V1", std::move(ranges)};
  return rule;
}

/// A config with backend services `svc` (and `other`) sharing policy `edge` of `rules`.
model::Config config_with(std::vector<model::SecurityPolicyRule> rules,
                          std::vector<std::string> user_ip_headers = {}) {
  model::Config config;
  model::SecurityPolicy policy;
  policy.name = "edge";
  policy.origin.file = "armor.yaml";
  policy.rules = std::move(rules);
  policy.user_ip_request_headers = std::move(user_ip_headers);
  config.security_policies.push_back(policy);
  for (const char* name : {"svc", "other"}) {
    model::BackendService service;
    service.name = name;
    service.security_policy = model::ResourceRef{"edge", "", "", "", "edge"};
    config.backend_services.push_back(service);
  }
  model::BackendService open;
  open.name = "open";
  config.backend_services.push_back(open);
  return config;
}

std::shared_ptr<RateLimiter> make(std::vector<model::SecurityPolicyRule> rules,
                                  std::vector<std::string> user_ip_headers = {}) {
  config::ConfigErrors errors;
  auto limiter =
      RateLimiter::create(config_with(std::move(rules), std::move(user_ip_headers)), errors);
  EXPECT_TRUE(errors.empty()) << config::format_errors(errors);
  return limiter;
}

struct Request {
  std::string ip = "10.0.0.1";
  std::vector<HeaderView> headers;
  std::string path = "/";
  std::string sni;
  std::string ja3;
  std::string ja4;
  RateLimitKeyInputs inputs() const { return {ip, headers, path, sni, ja3, ja4}; }
};

/// How many of `n` requests at `now` pass.
int allowed_count(const RateLimiter& limiter, const Request& request, int n, Clock::time_point now,
                  std::string_view service = "svc") {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += limiter.check(service, request.inputs(), now).allowed;
  return allowed;
}

const Clock::time_point kStart = Clock::time_point(seconds(1000));

TEST(RateLimiter, ThrottleAllKeyAndWindowReset) {
  auto limiter = make({throttle_rule(1000, 3, 60, "ALL")});
  Request request;
  auto first = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(first.allowed);
  EXPECT_TRUE(first.policy_applied);
  EXPECT_EQ(first.policy_name, "edge");
  EXPECT_EQ(first.rule_priority, 1000);
  EXPECT_EQ(first.configured_action, "throttle");
  EXPECT_EQ(first.outcome, "ACCEPT");
  EXPECT_EQ(first.rate_limit_outcome, "RATE_LIMIT_THRESHOLD_CONFORM");
  EXPECT_EQ(allowed_count(*limiter, request, 2, kStart + seconds(10)), 2);

  request.ip = "10.9.9.9";  // ALL: every client shares one bucket
  auto denied = limiter->check("svc", request.inputs(), kStart + seconds(59));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.deny_status, 429);
  EXPECT_EQ(denied.outcome, "DENY");
  EXPECT_EQ(denied.rate_limit_outcome, "RATE_LIMIT_THRESHOLD_EXCEED");

  // The window opened at kStart ends at kStart + 60 s.
  EXPECT_EQ(allowed_count(*limiter, request, 4, kStart + seconds(60)), 3);
}

TEST(RateLimiter, CountsPerBackendService) {
  auto limiter = make({throttle_rule(1000, 2, 60, "ALL")});
  Request request;
  EXPECT_EQ(allowed_count(*limiter, request, 5, kStart, "svc"), 2);
  EXPECT_EQ(allowed_count(*limiter, request, 5, kStart, "other"), 2);
  // No policy on `open`: always allowed, nothing to log.
  auto verdict = limiter->check("open", request.inputs(), kStart);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_FALSE(verdict.policy_applied);
  EXPECT_FALSE(limiter->has_policy("open"));
  EXPECT_TRUE(limiter->has_policy("svc"));
}

TEST(RateLimiter, KeyByIp) {
  auto limiter = make({throttle_rule(1000, 2, 10, "IP")});
  Request a;
  Request b;
  b.ip = "2001:db8::1";
  EXPECT_EQ(allowed_count(*limiter, a, 3, kStart), 2);
  EXPECT_EQ(allowed_count(*limiter, b, 3, kStart), 2);
  EXPECT_EQ(limiter->check("svc", b.inputs(), kStart).rate_limit_key, "2001:db8::1");
}

TEST(RateLimiter, KeyByHeaderFallsBackToAll) {
  auto limiter = make({throttle_rule(1000, 1, 10, "HTTP_HEADER", "X-Api-Key")});
  Request alice;
  alice.headers = {{"x-api-key", "alice"}};
  Request bob;
  bob.headers = {{"X-API-KEY", "bob"}};
  Request anonymous;
  Request anonymous2;
  anonymous2.ip = "10.0.0.2";
  EXPECT_EQ(allowed_count(*limiter, alice, 2, kStart), 1);
  EXPECT_EQ(allowed_count(*limiter, bob, 2, kStart), 1);
  // Without the header both clients count in one shared bucket.
  EXPECT_EQ(allowed_count(*limiter, anonymous, 1, kStart), 1);
  EXPECT_EQ(allowed_count(*limiter, anonymous2, 1, kStart), 0);
}

TEST(RateLimiter, KeyByXffIp) {
  auto limiter = make({throttle_rule(1000, 1, 10, "XFF_IP")});
  Request via_proxy;
  via_proxy.headers = {{"X-Forwarded-For", " 203.0.113.7 , 10.0.0.9"}};
  Request same_origin;  // different peer, same first XFF address
  same_origin.ip = "10.0.0.50";
  same_origin.headers = {{"x-forwarded-for", "203.0.113.7"}};
  EXPECT_EQ(allowed_count(*limiter, via_proxy, 1, kStart), 1);
  EXPECT_EQ(limiter->check("svc", same_origin.inputs(), kStart).rate_limit_key, "203.0.113.7");
  EXPECT_EQ(allowed_count(*limiter, same_origin, 1, kStart), 0);
  // Garbage in XFF: the peer address is the key.
  Request garbage;
  garbage.headers = {{"x-forwarded-for", "not-an-ip"}};
  EXPECT_EQ(limiter->check("svc", garbage.inputs(), kStart).rate_limit_key, "10.0.0.1");
}

TEST(RateLimiter, KeyByPathCookieAndSni) {
  auto by_path = make({throttle_rule(1000, 1, 10, "HTTP_PATH")});
  Request a;
  a.path = "/a";
  Request b;
  b.path = "/b";
  EXPECT_EQ(allowed_count(*by_path, a, 2, kStart), 1);
  EXPECT_EQ(allowed_count(*by_path, b, 2, kStart), 1);

  auto by_cookie = make({throttle_rule(1000, 1, 10, "HTTP_COOKIE", "session")});
  Request s1;
  s1.headers = {{"Cookie", "theme=dark; session=one"}};
  Request s2;
  s2.headers = {{"cookie", "session=two"}};
  EXPECT_EQ(by_cookie->check("svc", s1.inputs(), kStart).rate_limit_key, "one");
  EXPECT_EQ(allowed_count(*by_cookie, s1, 1, kStart), 0);
  EXPECT_EQ(allowed_count(*by_cookie, s2, 2, kStart), 1);

  auto by_sni = make({throttle_rule(1000, 1, 10, "SNI")});
  Request x;
  x.sni = "x.example.com";
  Request y;
  y.sni = "y.example.com";
  EXPECT_EQ(allowed_count(*by_sni, x, 2, kStart), 1);
  EXPECT_EQ(allowed_count(*by_sni, y, 2, kStart), 1);
}

TEST(RateLimiter, TlsFingerprintKeys) {
  auto by_ja3 = make({throttle_rule(1000, 1, 10, "TLS_JA3_FINGERPRINT")});
  Request curl;
  curl.ja3 = "579ccef312d18482fc42e2b822ca2430";
  curl.ja4 = "t13d1715h2_5b57614c22b0_3d5424432f57";
  Request chrome;
  chrome.ja3 = "b4c783785c9d8ca60b7713f36e48c407";
  chrome.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
  EXPECT_EQ(by_ja3->check("svc", curl.inputs(), kStart).rate_limit_key, curl.ja3);
  EXPECT_EQ(allowed_count(*by_ja3, curl, 1, kStart), 0);
  EXPECT_EQ(allowed_count(*by_ja3, chrome, 2, kStart), 1);

  auto by_ja4 = make({throttle_rule(1000, 1, 10, "TLS_JA4_FINGERPRINT")});
  EXPECT_EQ(by_ja4->check("svc", chrome.inputs(), kStart).rate_limit_key, chrome.ja4);
  EXPECT_EQ(allowed_count(*by_ja4, curl, 1, kStart), 1);
  EXPECT_EQ(allowed_count(*by_ja4, chrome, 1, kStart), 0);

  // Without a fingerprint (plain HTTP) the key is ALL's: one bucket for all such clients.
  Request plain;
  plain.ip = "10.0.0.2";
  Request other_plain;
  other_plain.ip = "10.0.0.3";
  EXPECT_EQ(by_ja4->check("svc", plain.inputs(), kStart).rate_limit_key, "");
  EXPECT_EQ(allowed_count(*by_ja4, other_plain, 1, kStart), 0);
}

TEST(RateLimiter, TellsWhetherAPolicyKeysOnTlsFingerprints) {
  const auto uses_fingerprints = [](const model::Config& config) {
    config::ConfigErrors errors;
    const auto limiter = RateLimiter::create(config, errors);
    EXPECT_TRUE(errors.empty());
    return limiter != nullptr && limiter->uses_tls_fingerprints();
  };
  EXPECT_FALSE(uses_fingerprints(config_with({throttle_rule(1, 1, 10, "SNI")})));
  EXPECT_TRUE(uses_fingerprints(config_with(
      {throttle_rule(1, 1, 10, "IP"), throttle_rule(2, 1, 10, "TLS_JA4_FINGERPRINT")})));
  EXPECT_TRUE(uses_fingerprints(config_with({throttle_rule(1, 1, 10, "TLS_JA3_FINGERPRINT")})));
  // A policy no backend service uses does not count.
  model::Config unused = config_with({throttle_rule(1, 1, 10, "TLS_JA3_FINGERPRINT")});
  for (model::BackendService& service : unused.backend_services) service.security_policy.reset();
  EXPECT_FALSE(uses_fingerprints(unused));
}

TEST(RateLimiter, RulesByPriorityWithCidrs) {
  // Listed out of order on purpose: evaluation follows priority.
  auto limiter = make({
      simple_rule(2147483647, "allow", {"*"}),
      simple_rule(100, "deny(404)", {"192.168.0.0/16", "2001:db8::/32"}),
      simple_rule(50, "allow", {"192.168.1.10"}),
      throttle_rule(200, 1, 60, "IP", "", {"10.0.0.0/8"}),
  });
  auto check = [&](std::string ip) {
    Request request;
    request.ip = std::move(ip);
    return limiter->check("svc", request.inputs(), kStart);
  };
  auto allowed_host = check("192.168.1.10");
  EXPECT_TRUE(allowed_host.allowed);
  EXPECT_EQ(allowed_host.rule_priority, 50);
  auto denied = check("192.168.7.7");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.deny_status, 404);
  EXPECT_EQ(denied.configured_action, "deny(404)");
  EXPECT_EQ(denied.outcome, "DENY");
  EXPECT_FALSE(denied.rate_limited);
  EXPECT_FALSE(check("2001:db8:1::5").allowed);
  EXPECT_TRUE(check("2001:db9::5").allowed);
  EXPECT_EQ(check("2001:db9::5").rule_priority, 2147483647);
  // IPv4-mapped IPv6 peers match IPv4 ranges.
  EXPECT_EQ(check("::ffff:192.168.3.3").deny_status, 404);
  EXPECT_TRUE(check("10.1.1.1").allowed);
  EXPECT_FALSE(check("10.1.1.1").allowed);  // throttled on its second request
  EXPECT_TRUE(check("10.1.1.2").allowed);
  EXPECT_TRUE(check("172.16.0.1").allowed);
}

TEST(RateLimiter, NoMatchingRuleAllowsWithoutLog) {
  auto limiter = make({simple_rule(10, "deny(403)", {"10.0.0.0/8"})});
  Request request;
  request.ip = "192.0.2.1";
  auto verdict = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_FALSE(verdict.policy_applied);
}

TEST(RateLimiter, UserIpComesFromTheFirstHeaderHoldingAnAddress) {
  auto limiter = make(
      {simple_rule(10, "deny(403)", {"203.0.113.0/24"}), throttle_rule(20, 1, 60, "IP", "", {"*"})},
      {"X-Client-Ip", "True-Client-IP"});
  Request request;
  request.ip = "10.0.0.1";
  // Not an address (a list is not one address): the next header is tried.
  // (The list's first address is outside the denied range: taking it would not deny.)
  request.headers = {{"x-client-ip", "198.51.100.1, 10.0.0.1"}, {"true-client-ip", "203.0.113.7"}};
  EXPECT_EQ(limiter->check("svc", request.inputs(), kStart).deny_status, 403);
  request.headers = {{"X-CLIENT-IP", " 198.51.100.4 "}};
  auto first = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.rate_limit_key, "198.51.100.4") << "the IP key is the user IP";
  EXPECT_FALSE(limiter->check("svc", request.inputs(), kStart).allowed);
  // Neither header holds an address: the connection's source address.
  request.headers = {{"x-client-ip", "unknown"}};
  EXPECT_EQ(limiter->check("svc", request.inputs(), kStart).rate_limit_key, "10.0.0.1");
}

TEST(RateLimiter, PreviewRulesAreReportedNeverEnforced) {
  auto preview_deny = simple_rule(10, "deny(403)", {"10.0.0.0/8"});
  preview_deny.preview = true;
  auto preview_throttle = throttle_rule(20, 1, 60, "ALL");
  preview_throttle.preview = true;
  auto limiter = make({preview_deny, preview_throttle, simple_rule(100, "allow", {"*"})});
  Request request;
  auto verdict = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.rule_priority, 100);
  EXPECT_EQ(verdict.outcome, "ACCEPT");
  ASSERT_TRUE(verdict.preview);
  EXPECT_EQ(verdict.preview->rule_priority, 10) << "the highest-priority preview match";
  EXPECT_EQ(verdict.preview->configured_action, "deny(403)");
  EXPECT_EQ(verdict.preview->outcome, "DENY");

  // Outside 10/8 the throttle preview is the one that matches; over its count it reports
  // what it would have done and the request still passes.
  request.ip = "192.0.2.1";
  const auto conforming = limiter->check("svc", request.inputs(), kStart);
  ASSERT_TRUE(conforming.preview);
  EXPECT_EQ(conforming.preview->rate_limit_outcome, "RATE_LIMIT_THRESHOLD_CONFORM");
  auto exceeded = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(exceeded.allowed);
  ASSERT_TRUE(exceeded.preview);
  EXPECT_EQ(exceeded.preview->outcome, "DENY");
  EXPECT_EQ(exceeded.preview->rate_limit_outcome, "RATE_LIMIT_THRESHOLD_EXCEED");
}

TEST(RateLimiter, APreviewRuleAfterTheEnforcedOneIsNotReached) {
  auto preview_deny = simple_rule(200, "deny(403)", {"*"});
  preview_deny.preview = true;
  auto limiter = make({simple_rule(100, "allow", {"*"}), preview_deny});
  Request request;
  auto verdict = limiter->check("svc", request.inputs(), kStart);
  EXPECT_TRUE(verdict.policy_applied);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.rule_priority, 100);
  EXPECT_FALSE(verdict.preview);
  // The control: the same preview rule ahead of the enforced one is reported.
  preview_deny.priority = 50;
  auto reached = make({simple_rule(100, "allow", {"*"}), preview_deny})
                     ->check("svc", request.inputs(), kStart);
  ASSERT_TRUE(reached.preview);
  EXPECT_EQ(reached.preview->rule_priority, 50);
}

TEST(RateLimiter, SharedAcrossThreads) {
  constexpr int kLimit = 1000;
  auto limiter = make({throttle_rule(1000, kLimit, 60, "ALL")});
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Request request;
      allowed += allowed_count(*limiter, request, 600, kStart);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), kLimit);
}

TEST(RateLimiter, ExpiredKeysAreDropped) {
  auto limiter = make({throttle_rule(1000, 5, 10, "IP")});
  for (int i = 0; i < 200; ++i) {
    Request request;
    request.ip = "10.0.1." + std::to_string(i % 250);
    limiter->check("svc", request.inputs(), kStart);
  }
  EXPECT_EQ(limiter->tracked_keys(), 200u);
  // Well after the windows ended, traffic from new keys sweeps the old ones.
  for (int i = 0; i < 64; ++i) {
    Request request;
    request.ip = "10.0.2." + std::to_string(i);
    limiter->check("svc", request.inputs(), kStart + seconds(30));
  }
  EXPECT_EQ(limiter->tracked_keys(), 64u);
}

TEST(RateLimiter, ConfigErrorsNameTheField) {
  config::ConfigErrors errors;
  auto bad_cidr = simple_rule(10, "deny(403)", {"10.0.0.0/33"});
  auto bad_action = simple_rule(20, "deny(418)", {"*"});
  auto bad_key = throttle_rule(30, 1, 10, "HTTP_HEADER");  // no enforceOnKeyName
  auto limiter = RateLimiter::create(config_with({bad_cidr, bad_action, bad_key}), errors);
  EXPECT_EQ(limiter, nullptr);
  ASSERT_EQ(errors.size(), 3u) << config::format_errors(errors);
  EXPECT_EQ(errors[0].file, "armor.yaml");
  EXPECT_EQ(errors[0].field_path, "securityPolicies[edge].rules[0].match.config.srcIpRanges[0]");
  EXPECT_EQ(errors[1].field_path, "securityPolicies[edge].rules[1].action");
  EXPECT_EQ(errors[2].field_path,
            "securityPolicies[edge].rules[2].rateLimitOptions.enforceOnKeyName");

  config::ConfigErrors missing_errors;
  model::Config missing = config_with({});
  missing.security_policies.clear();
  EXPECT_EQ(RateLimiter::create(missing, missing_errors), nullptr);
  ASSERT_FALSE(missing_errors.empty());
  EXPECT_EQ(missing_errors[0].field_path, "backendServices[svc].securityPolicy");
}

TEST(RateLimiter, ParseDenyStatus) {
  EXPECT_EQ(parse_deny_status("deny(403)"), 403);
  EXPECT_EQ(parse_deny_status("deny(404)"), 404);
  EXPECT_EQ(parse_deny_status("deny(429)"), 429);
  EXPECT_EQ(parse_deny_status("deny(502)"), 502);
  EXPECT_EQ(parse_deny_status("deny(500)"), 0);
  EXPECT_EQ(parse_deny_status("allow"), 0);
  EXPECT_EQ(parse_deny_status("deny(42x)"), 0);
}

}  // namespace
}  // namespace albemu::core
