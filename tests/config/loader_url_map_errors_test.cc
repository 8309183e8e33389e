// Every field-level rule of a URL map: each case breaks one rule and expects the error at
// the exact field path.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config::url_map_errors_test {
namespace {

struct ErrorCase {
  std::string label;
  std::string yaml;  // the urlMaps section loaded with the base config
  std::string path;
  std::string text;
};

void PrintTo(const ErrorCase& item, std::ostream* out) { *out << item.label; }

const std::string kMap = "urlMaps[lb-map]";
const std::string kMatcher = kMap + ".pathMatchers[0]";
const std::string kRule = kMatcher + ".routeRules[0]";
const std::string kPathRule = kMatcher + ".pathRules[0]";
const std::string kAction = kRule + ".routeAction";
const std::string kMatch = kRule + ".matchRules[0]";

/// A URL map with extra top-level lines (each indented by two spaces).
std::string map_with(const std::string& lines, bool with_default = true) {
  std::string out = "urlMaps:\n- name: lb-map\n";
  if (with_default) out += "  defaultService: web-backend\n";
  return out + lines;
}

/// A URL map whose only path matcher `m` has these route rules (a flow-style list).
std::string route_rules(const std::string& rules) {
  return map_with(
      "  hostRules: [{hosts: ['*'], pathMatcher: m}]\n"
      "  pathMatchers:\n"
      "  - name: m\n"
      "    defaultService: web-backend\n"
      "    routeRules: " +
      rules + "\n");
}

/// One route rule with these extra fields (flow-style, after the match rules).
std::string route_rule(const std::string& fields, const std::string& match = "{prefixMatch: /}") {
  return route_rules("[{priority: 1, matchRules: [" + match + "], " + fields + "}]");
}

/// One route rule sending to web-backend with this routeAction (flow style).
std::string route_action(const std::string& action, const std::string& match = "{prefixMatch: /}") {
  return route_rule("service: web-backend, routeAction: " + action, match);
}

/// One route rule with this match rule.
std::string match_rule(const std::string& match) {
  return route_rule("service: web-backend", match);
}

/// A path matcher with these path rules (flow-style list).
std::string path_rules(const std::string& rules) {
  return map_with(
      "  hostRules: [{hosts: ['*'], pathMatcher: m}]\n"
      "  pathMatchers:\n"
      "  - name: m\n"
      "    defaultService: web-backend\n"
      "    pathRules: " +
      rules + "\n");
}

/// A URL map with these hosts in its one host rule (flow-style list).
std::string hosts(const std::string& list) {
  return map_with("  hostRules: [{hosts: " + list +
                  ", pathMatcher: m}]\n"
                  "  pathMatchers: [{name: m, defaultService: web-backend}]\n");
}

/// A route rule whose route adds this request header entry.
std::string header_to_add(const std::string& entries) {
  return route_rule("service: web-backend, headerAction: {requestHeadersToAdd: " + entries + "}");
}

std::string tests_with(const std::string& list) { return map_with("  tests: " + list + "\n"); }

std::string many_tests(int count) {
  std::string list = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) list += ", ";
    list += "{host: a.com, path: /" + std::to_string(i) + ", service: web-backend}";
  }
  return tests_with(list + "]");
}

std::string text_of(size_t length, char fill = 'a', const std::string& prefix = "") {
  return prefix + std::string(length - prefix.size(), fill);
}

std::vector<ErrorCase> cases() {
  const std::string long_path = text_of(1025, 'a', "/");
  const std::string long_host = text_of(256, 'a');
  return {
      // names and unknown fields
      {"BadName", "urlMaps:\n- name: Lb_Map\n  defaultService: web-backend\n",
       "urlMaps[Lb_Map].name", "must be 1-63 characters matching [a-z]([-a-z0-9]*[a-z0-9])?"},
      {"LongName", "urlMaps:\n- name: " + text_of(64) + "\n  defaultService: web-backend\n",
       "urlMaps[" + text_of(64) + "].name", "must be 1-63 characters"},
      {"NameEndsWithDash", "urlMaps:\n- name: map-\n  defaultService: web-backend\n",
       "urlMaps[map-].name", "must be 1-63"},
      {"MissingName", "urlMaps:\n- defaultService: web-backend\n", "urlMaps[0].name",
       "is required"},
      {"UnknownField", map_with("  defaultServce: web-backend\n"), kMap + ".defaultServce",
       "unknown field 'defaultServce' (did you mean 'defaultService'?)"},
      // `stats` is one edit from both `status` and `state`: the hint is the first in
      // alphabetical order, whatever order the parser knows them in.
      {"UnknownFieldTwoHints", map_with("  stats: x\n"), kMap + ".stats",
       "unknown field 'stats' (did you mean 'state'?)"},
      {"UnknownDeepField", match_rule("{prefixMach: /a}"), kMatch + ".prefixMach", "unknown field"},
      {"DuplicateField", map_with("  description: a\n  description: b\n"), kMap + ".description",
       "appears more than once"},
      {"WrongType", map_with("  hostRules: {hosts: [a]}\n"), kMap + ".hostRules",
       "expected a list"},
      {"LongDescription", map_with("  description: " + text_of(1025) + "\n"), kMap + ".description",
       "must be at most 1024 characters"},
      {"RouteRuleLongDescription",
       route_rule("service: web-backend, description: " + text_of(1025)), kRule + ".description",
       "at most 1024"},

      // default action choice
      {"NoDefault", map_with("  description: x\n", false), kMap,
       "one of defaultService, defaultUrlRedirect and defaultRouteAction.weightedBackendServices "
       "is required"},
      {"ServiceAndRedirect", map_with("  defaultUrlRedirect: {hostRedirect: a.com}\n"), kMap,
       "only one of defaultService, defaultUrlRedirect and "
       "defaultRouteAction.weightedBackendServices may be set"},
      {"ServiceAndWeighted",
       map_with("  defaultRouteAction: {weightedBackendServices: [{backendService: web-backend, "
                "weight: 1}]}\n"),
       kMap, "only one of"},
      {"RedirectAndRouteAction",
       map_with("  defaultUrlRedirect: {hostRedirect: a.com}\n  defaultRouteAction: {timeout: "
                "{seconds: 1}}\n",
                false),
       kMap, "defaultUrlRedirect cannot be combined with defaultService or defaultRouteAction"},
      {"MatcherTwoDefaults",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: m}]\n  pathMatchers: [{name: m, "
                "defaultService: web-backend, defaultUrlRedirect: {hostRedirect: b.com}}]\n"),
       kMatcher, "only one of defaultService, defaultUrlRedirect"},
      {"PathRuleNoAction", path_rules("[{paths: [/a]}]"), kPathRule,
       "one of service, urlRedirect and routeAction.weightedBackendServices is required"},
      {"PathRuleServiceAndRedirect",
       path_rules("[{paths: [/a], service: web-backend, urlRedirect: {hostRedirect: a.com}}]"),
       kPathRule, "only one of service, urlRedirect"},
      {"PathRuleNoPaths", path_rules("[{paths: [], service: web-backend}]"), kPathRule + ".paths",
       "at least one path is required"},
      {"RouteRuleServiceAndWeighted",
       route_action("{weightedBackendServices: [{backendService: login-backend, weight: 1}]}"),
       kRule, "only one of service, urlRedirect and routeAction.weightedBackendServices"},
      {"RouteRuleNoAction", route_rule("description: nothing"), kRule,
       "one of service, urlRedirect and routeAction.weightedBackendServices is required"},
      {"RouteRuleRedirectAndAction",
       route_rule("urlRedirect: {hostRedirect: a.com}, routeAction: {timeout: {seconds: 1}}"),
       kRule, "urlRedirect cannot be combined with service or routeAction"},
      {"PathRulesAndRouteRules",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: m}]\n  pathMatchers:\n  - name: m\n"
                "    defaultService: web-backend\n    pathRules: [{paths: [/a], service: "
                "web-backend}]\n    routeRules: [{priority: 1, matchRules: [{prefixMatch: /}], "
                "service: web-backend}]\n"),
       kMatcher, "only one of pathRules and routeRules"},

      // rewrites and redirects
      {"PrefixAndTemplateRewrite",
       route_action("{urlRewrite: {pathPrefixRewrite: /a, pathTemplateRewrite: '/{x}'}}",
                    "{pathTemplateMatch: '/{x}'}"),
       kAction + ".urlRewrite", "only one of pathPrefixRewrite and pathTemplateRewrite"},
      {"PathAndPrefixRedirect", route_rule("urlRedirect: {pathRedirect: /a, prefixRedirect: /b}"),
       kRule + ".urlRedirect", "only one of pathRedirect and prefixRedirect"},
      {"RedirectResponseCode", route_rule("urlRedirect: {redirectResponseCode: MOVED}"),
       kRule + ".urlRedirect.redirectResponseCode",
       "'MOVED' is not one of MOVED_PERMANENTLY_DEFAULT, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, "
       "PERMANENT_REDIRECT"},
      {"TemplateRewriteWithPrefixMatch", route_action("{urlRewrite: {pathTemplateRewrite: /a}}"),
       kAction + ".urlRewrite.pathTemplateRewrite",
       "requires every matchRule of the route rule to be a pathTemplateMatch"},
      {"TemplateRewriteWithMixedMatches",
       route_action("{urlRewrite: {pathTemplateRewrite: '/{x}'}}",
                    "{pathTemplateMatch: '/{x}'}, {prefixMatch: /b}"),
       kAction + ".urlRewrite.pathTemplateRewrite", "requires every matchRule"},
      {"TemplateRewriteInPathRule",
       path_rules("[{paths: [/a], service: web-backend, routeAction: {urlRewrite: "
                  "{pathTemplateRewrite: /b}}}]"),
       kPathRule + ".routeAction.urlRewrite.pathTemplateRewrite", "requires every matchRule"},
      {"TemplateRewriteUnknownVariable",
       route_action("{urlRewrite: {pathTemplateRewrite: '/{y}'}}", "{pathTemplateMatch: '/{x}'}"),
       kAction + ".urlRewrite.pathTemplateRewrite",
       "uses variable 'y' that the pathTemplateMatch does not capture"},
      {"TemplateRewriteVariableNotInEveryMatch",
       route_action("{urlRewrite: {pathTemplateRewrite: '/{y}'}}",
                    "{pathTemplateMatch: '/{x}/{y}'}, {pathTemplateMatch: '/{x}'}"),
       kAction + ".urlRewrite.pathTemplateRewrite", "does not capture"},
      {"TemplateRewriteBareWildcard",
       route_action("{urlRewrite: {pathTemplateRewrite: '/{x}/*'}}", "{pathTemplateMatch: '/{x}'}"),
       kAction + ".urlRewrite.pathTemplateRewrite", "'*' and '**' cannot be used"},
      {"TemplateRewriteNoVariables",
       route_action("{urlRewrite: {pathTemplateRewrite: /a}}", "{pathTemplateMatch: '/a/*'}"),
       kAction + ".urlRewrite.pathTemplateRewrite", "captures at least one variable"},

      // match rules
      {"MatchRuleNoPathMatch", match_rule("{ignoreCase: true}"), kMatch,
       "a matchRule must set exactly one of prefixMatch, fullPathMatch, regexMatch, "
       "pathTemplateMatch (0 set)"},
      {"MatchRuleTwoPathMatches", match_rule("{prefixMatch: /a, fullPathMatch: /a}"), kMatch,
       "(2 set)"},
      {"IgnoreCaseWithRegex", match_rule("{regexMatch: /a, ignoreCase: true}"),
       kMatch + ".ignoreCase", "ignoreCase cannot be used with regexMatch"},
      {"BadRegex", match_rule("{regexMatch: '/(a'}"), kMatch + ".regexMatch",
       "invalid regular expression '/(a': missing ): /(a"},
      {"HeaderMatchNone", match_rule("{prefixMatch: /, headerMatches: [{headerName: X-A}]}"),
       kMatch + ".headerMatches[0]",
       "a header match must set exactly one of exactMatch, prefixMatch, suffixMatch, "
       "regexMatch, presentMatch, rangeMatch (0 set)"},
      {"HeaderMatchTwo",
       match_rule("{prefixMatch: /, headerMatches: [{headerName: X-A, exactMatch: a, "
                  "presentMatch: true}]}"),
       kMatch + ".headerMatches[0]", "(2 set)"},
      {"HeaderMatchNoName", match_rule("{prefixMatch: /, headerMatches: [{exactMatch: a}]}"),
       kMatch + ".headerMatches[0].headerName", "is required"},
      {"HeaderMatchBadRegex",
       match_rule("{prefixMatch: /, headerMatches: [{headerName: X-A, regexMatch: '[a'}]}"),
       kMatch + ".headerMatches[0].regexMatch", "missing ]"},
      {"HeaderRangeNotInteger",
       match_rule("{prefixMatch: /, headerMatches: [{headerName: X-A, rangeMatch: {rangeStart: "
                  "a, rangeEnd: 2}}]}"),
       kMatch + ".headerMatches[0].rangeMatch.rangeStart", "expected an integer, got 'a'"},
      {"QueryMatchTwo",
       match_rule("{prefixMatch: /, queryParameterMatches: [{name: q, exactMatch: a, "
                  "regexMatch: b}]}"),
       kMatch + ".queryParameterMatches[0]",
       "a query parameter match must set exactly one of exactMatch, regexMatch, presentMatch "
       "(2 set)"},
      {"QueryMatchNone", match_rule("{prefixMatch: /, queryParameterMatches: [{name: q}]}"),
       kMatch + ".queryParameterMatches[0]", "(0 set)"},
      {"QueryMatchBadRegex",
       match_rule("{prefixMatch: /, queryParameterMatches: [{name: q, regexMatch: 'a**'}]}"),
       kMatch + ".queryParameterMatches[0].regexMatch", "bad repetition operator"},
      {"PrefixMatchWithoutSlash", match_rule("{prefixMatch: a}"), kMatch + ".prefixMatch",
       "must start with '/'"},
      {"PrefixMatchEmpty", match_rule("{prefixMatch: ''}"), kMatch + ".prefixMatch",
       "must be 1-1024 characters (got 0)"},
      {"PrefixMatchTooLong", match_rule("{prefixMatch: " + long_path + "}"),
       kMatch + ".prefixMatch", "must be 1-1024 characters (got 1025)"},
      {"FullPathMatchTooLong", match_rule("{fullPathMatch: " + long_path + "}"),
       kMatch + ".fullPathMatch", "1-1024"},
      {"PathTemplateTooLong", match_rule("{pathTemplateMatch: " + long_path + "}"),
       kMatch + ".pathTemplateMatch", "1-1024"},
      {"PathTemplateBadCapture", match_rule("{pathTemplateMatch: '/{x=a}'}"),
       kMatch + ".pathTemplateMatch", "may only capture '*' or '**'"},
      {"PathTemplateTooManyOperators", match_rule("{pathTemplateMatch: '/*/*/{a}/{b}/*/*'}"),
       kMatch + ".pathTemplateMatch", "has 6 operators; at most 5 are allowed"},
      {"PathTemplateDoubleStarNotLast", match_rule("{pathTemplateMatch: '/**/{x}'}"),
       kMatch + ".pathTemplateMatch", "'**' must be the last operator"},
      {"PathTemplateNoSlash", match_rule("{pathTemplateMatch: 'a/{x}'}"),
       kMatch + ".pathTemplateMatch", "must start with '/'"},
      {"PathTemplateDuplicateVariable", match_rule("{pathTemplateMatch: '/{x}/{x}'}"),
       kMatch + ".pathTemplateMatch", "captured twice"},
      {"MetadataFilters",
       match_rule("{prefixMatch: /, metadataFilters: [{filterMatchCriteria: MATCH_ANY}]}"),
       kMatch + ".metadataFilters",
       "metadataFilters is only supported by INTERNAL_SELF_MANAGED load balancers"},

      // priorities
      {"DuplicatePriority",
       route_rules("[{priority: 5, matchRules: [{prefixMatch: /a}], service: web-backend}, "
                   "{priority: 5, matchRules: [{prefixMatch: /b}], service: web-backend}]"),
       kMatcher + ".routeRules[1].priority",
       "priority 5 is already used by " + kRule + "; priorities must be unique"},
      {"PriorityTooLarge",
       route_rules("[{priority: 2147483648, matchRules: [{prefixMatch: /}], service: "
                   "web-backend}]"),
       kRule + ".priority", "out of range [0, 2147483647]"},
      {"PriorityNegative",
       route_rules("[{priority: -1, matchRules: [{prefixMatch: /}], service: web-backend}]"),
       kRule + ".priority", "out of range"},
      {"PriorityMissing", route_rules("[{matchRules: [{prefixMatch: /}], service: web-backend}]"),
       kRule + ".priority", "is required"},

      // path rules and hosts
      {"PathWithoutSlash", path_rules("[{paths: [login], service: web-backend}]"),
       kPathRule + ".paths[0]", "must start with '/'"},
      {"PathStarNotAtEnd", path_rules("[{paths: ['/a/*/b'], service: web-backend}]"),
       kPathRule + ".paths[0]", "'*' is only allowed at the end, directly after a '/'"},
      {"PathStarNotAfterSlash", path_rules("[{paths: ['/a*'], service: web-backend}]"),
       kPathRule + ".paths[0]", "'*' is only allowed at the end"},
      {"PathWithQuery", path_rules("[{paths: ['/a?b'], service: web-backend}]"),
       kPathRule + ".paths[0]", "must not contain '?' or '#'"},
      {"PathWithFragment", path_rules("[{paths: ['/a#b'], service: web-backend}]"),
       kPathRule + ".paths[0]", "must not contain '?' or '#'"},
      {"DuplicatePath",
       path_rules("[{paths: [/a], service: web-backend}, {paths: [/a], service: login-backend}]"),
       kMatcher + ".pathRules[1].paths[0]",
       "path '/a' is already used by " + kPathRule + ".paths[0]"},
      {"HostStarInside", hosts("['a*.example.com']"), kMap + ".hostRules[0].hosts[0]",
       "'*' may only be the first character"},
      {"HostStarNotFollowedBySeparator", hosts("['*example.com']"), kMap + ".hostRules[0].hosts[0]",
       "'*' must be followed by '-' or '.'"},
      {"HostWithSpace", hosts("['exa mple.com']"), kMap + ".hostRules[0].hosts[0]",
       "is not a valid host name"},
      {"HostBadPort", hosts("['a.com:99999']"), kMap + ".hostRules[0].hosts[0]", "invalid port"},
      {"HostEmptyLabel", hosts("['a..com']"), kMap + ".hostRules[0].hosts[0]",
       "is not a valid host name"},
      {"DuplicateHost",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: m}, {hosts: [A.com], pathMatcher: "
                "m}]\n  pathMatchers: [{name: m, defaultService: web-backend}]\n"),
       kMap + ".hostRules[1].hosts[0]", "duplicate host"},
      {"HostRuleNoHosts",
       map_with("  hostRules: [{pathMatcher: m}]\n  pathMatchers: [{name: m, defaultService: "
                "web-backend}]\n"),
       kMap + ".hostRules[0].hosts", "at least one host is required"},
      {"HostRuleUnknownMatcher",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: nope}]\n  pathMatchers: [{name: m, "
                "defaultService: web-backend}]\n"),
       kMap + ".hostRules[0].pathMatcher", "has no path matcher named \"nope\""},
      {"DuplicatePathMatcher",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: m}]\n  pathMatchers: [{name: m, "
                "defaultService: web-backend}, {name: m, defaultService: web-backend}]\n"),
       kMap + ".pathMatchers[1].name", "duplicate path matcher"},
      {"PathMatcherBadName",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: M1}]\n  pathMatchers: [{name: M1, "
                "defaultService: web-backend}]\n"),
       kMap + ".pathMatchers[0].name", "must be 1-63 characters"},

      // header actions
      {"HeaderNameNotToken", header_to_add("[{headerName: 'X Bad', headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName",
       "header name 'X Bad' is not a valid HTTP header name (RFC 7230 token)"},
      {"HeaderHost", header_to_add("[{headerName: Host, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "cannot be set or removed"},
      {"HeaderAuthority", header_to_add("[{headerName: authority, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "cannot be set or removed"},
      {"HeaderUserIp", header_to_add("[{headerName: x-user-ip, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "cannot be set or removed"},
      {"HeaderHopByHop", header_to_add("[{headerName: Transfer-Encoding, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "cannot be set or removed"},
      {"HeaderConnection", header_to_add("[{headerName: Connection, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "cannot be set or removed"},
      {"HeaderGooglePrefix", header_to_add("[{headerName: X-Google-Foo, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName",
       "uses the reserved prefix 'x-google'"},
      {"HeaderGoogPrefix", header_to_add("[{headerName: X-Goog-Foo, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "reserved prefix 'x-goog-'"},
      {"HeaderGfePrefix", header_to_add("[{headerName: X-GFE-Foo, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "reserved prefix 'x-gfe'"},
      {"HeaderAmzPrefix", header_to_add("[{headerName: X-Amz-Date, headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "reserved prefix 'x-amz-'"},
      {"HeaderDuplicate",
       header_to_add("[{headerName: X-A, headerValue: a}, {headerName: x-a, headerValue: b}]"),
       kRule + ".headerAction.requestHeadersToAdd[1].headerName",
       "header 'x-a' appears more than once in this list"},
      {"HeaderRemoveDuplicate",
       map_with("  headerAction: {responseHeadersToRemove: [X-A, X-B, x-b]}\n"),
       kMap + ".headerAction.responseHeadersToRemove[2]", "appears more than once"},
      {"HeaderRemoveReserved", map_with("  headerAction: {requestHeadersToRemove: [Host]}\n"),
       kMap + ".headerAction.requestHeadersToRemove[0]", "cannot be set or removed"},
      {"HeaderUnknownVariable", header_to_add("[{headerName: X-A, headerValue: 'a {foo} b'}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerValue",
       "unknown variable {foo} in header value"},
      {"HeaderBlankValue", header_to_add("[{headerName: X-A, headerValue: '  '}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerValue",
       "header value must not be blank"},
      {"HeaderNoValue", header_to_add("[{headerName: X-A}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerValue",
       "header value must not be blank"},
      {"HeaderNoName", header_to_add("[{headerValue: a}]"),
       kRule + ".headerAction.requestHeadersToAdd[0].headerName", "is required"},
      {"WeightedHeaderAction",
       route_rule("routeAction: {weightedBackendServices: [{backendService: web-backend, weight: "
                  "1, headerAction: {responseHeadersToAdd: [{headerName: X-Goog-A, headerValue: "
                  "a}]}}]}"),
       kAction + ".weightedBackendServices[0].headerAction.responseHeadersToAdd[0].headerName",
       "reserved prefix"},

      // route action ranges
      {"RetryCondition", route_action("{retryPolicy: {retryConditions: [5xx, reset]}}"),
       kAction + ".retryPolicy.retryConditions[1]", "unknown retry condition 'reset'"},
      {"NumRetriesZero", route_action("{retryPolicy: {numRetries: 0}}"),
       kAction + ".retryPolicy.numRetries", "numRetries must be greater than 0"},
      {"WeightTooLarge",
       route_rule("routeAction: {weightedBackendServices: [{backendService: web-backend, weight: "
                  "1001}]}"),
       kAction + ".weightedBackendServices[0].weight", "value 1001 is out of range [0, 1000]"},
      {"WeightMissing",
       route_rule("routeAction: {weightedBackendServices: [{backendService: web-backend}]}"),
       kAction + ".weightedBackendServices[0].weight", "is required"},
      {"WeightedBackendMissing",
       route_rule("routeAction: {weightedBackendServices: [{weight: 1}]}"),
       kAction + ".weightedBackendServices[0].backendService", "is required"},
      {"DelayPercentage",
       route_action("{faultInjectionPolicy: {delay: {fixedDelay: {seconds: 1}, percentage: "
                    "100.5}}}"),
       kAction + ".faultInjectionPolicy.delay.percentage", "value 100.5 is out of range [0, 100]"},
      {"DelayWithoutFixedDelay", route_action("{faultInjectionPolicy: {delay: {percentage: 5}}}"),
       kAction + ".faultInjectionPolicy.delay.fixedDelay", "is required"},
      {"AbortPercentage",
       route_action("{faultInjectionPolicy: {abort: {httpStatus: 503, percentage: -1}}}"),
       kAction + ".faultInjectionPolicy.abort.percentage", "out of range"},
      {"AbortStatusTooHigh", route_action("{faultInjectionPolicy: {abort: {httpStatus: 600}}}"),
       kAction + ".faultInjectionPolicy.abort.httpStatus", "value 600 is out of range [200, 599]"},
      {"AbortStatusTooLow", route_action("{faultInjectionPolicy: {abort: {httpStatus: 199}}}"),
       kAction + ".faultInjectionPolicy.abort.httpStatus", "out of range [200, 599]"},
      {"MirrorPercent",
       route_action("{requestMirrorPolicy: {backendService: login-backend, mirrorPercent: 101}}"),
       kAction + ".requestMirrorPolicy.mirrorPercent", "out of range"},
      {"TimeoutNanos", route_action("{timeout: {seconds: 1, nanos: 1000000000}}"),
       kAction + ".timeout.nanos", "out of range [0, 999999999]"},
      {"TimeoutSecondsNotNumber", route_action("{timeout: {seconds: abc}}"),
       kAction + ".timeout.seconds", "expected an integer, got 'abc'"},
      {"TimeoutUnknownField", route_action("{timeout: {second: 1}}"), kAction + ".timeout.second",
       "unknown field"},
      {"MaxStreamDuration", route_action("{maxStreamDuration: {seconds: 1}}"),
       kAction + ".maxStreamDuration",
       "maxStreamDuration is only supported by INTERNAL_SELF_MANAGED"},
      {"CachePolicy", route_action("{cachePolicy: {}}"), kAction + ".cachePolicy",
       "only supported by global external"},
      {"AllowOriginRegexes", route_action("{corsPolicy: {allowOriginRegexes: ['.*']}}"),
       kAction + ".corsPolicy.allowOriginRegexes",
       "allowOriginRegexes is only supported by INTERNAL_SELF_MANAGED"},
      {"CorsMaxAgeNegative", route_action("{corsPolicy: {maxAge: -1}}"),
       kAction + ".corsPolicy.maxAge", "out of range"},

      // lengths
      {"HostRewriteTooLong", route_action("{urlRewrite: {hostRewrite: " + long_host + "}}"),
       kAction + ".urlRewrite.hostRewrite", "must be 1-255 characters (got 256)"},
      {"PathPrefixRewriteTooLong",
       route_action("{urlRewrite: {pathPrefixRewrite: " + long_path + "}}"),
       kAction + ".urlRewrite.pathPrefixRewrite", "must be 1-1024 characters (got 1025)"},
      {"PathPrefixRewriteEmpty", route_action("{urlRewrite: {pathPrefixRewrite: ''}}"),
       kAction + ".urlRewrite.pathPrefixRewrite", "must be 1-1024 characters (got 0)"},
      {"HostRedirectTooLong", route_rule("urlRedirect: {hostRedirect: " + long_host + "}"),
       kRule + ".urlRedirect.hostRedirect", "must be 1-255 characters"},
      {"PathRedirectTooLong", route_rule("urlRedirect: {pathRedirect: " + long_path + "}"),
       kRule + ".urlRedirect.pathRedirect", "must be 1-1024 characters"},
      {"PrefixRedirectTooLong", route_rule("urlRedirect: {prefixRedirect: " + long_path + "}"),
       kRule + ".urlRedirect.prefixRedirect", "must be 1-1024 characters"},

      // unsupported policies
      {"RouteRuleCustomErrors", route_rule("service: web-backend, customErrorResponsePolicy: {}"),
       kRule + ".customErrorResponsePolicy",
       "customErrorResponsePolicy is only supported by global external Application Load "
       "Balancers"},
      {"PathRuleCustomErrors",
       path_rules("[{paths: [/a], service: web-backend, customErrorResponsePolicy: {}}]"),
       kPathRule + ".customErrorResponsePolicy", "only supported by global external"},
      {"UrlMapCustomErrors", map_with("  defaultCustomErrorResponsePolicy: {}\n"),
       kMap + ".defaultCustomErrorResponsePolicy", "only supported by global external"},
      {"PathMatcherCustomErrors",
       map_with("  hostRules: [{hosts: [a.com], pathMatcher: m}]\n  pathMatchers: [{name: m, "
                "defaultService: web-backend, defaultCustomErrorResponsePolicy: {}}]\n"),
       kMatcher + ".defaultCustomErrorResponsePolicy", "only supported by global external"},

      // tests
      {"TooManyTests", many_tests(101), kMap + ".tests",
       "at most 100 tests are allowed per URL map (got 101)"},
      {"TestServiceAndRedirectCode",
       tests_with("[{host: a.com, path: /, service: web-backend, expectedRedirectResponseCode: "
                  "301}]"),
       kMap + ".tests[0]", "only one of service and expectedRedirectResponseCode may be set"},
      {"TestHostHeaderMismatch",
       tests_with("[{host: a.com, path: /, headers: [{name: host, value: b.com}], service: "
                  "web-backend}]"),
       kMap + ".tests[0].headers[0].value", "a Host header must equal the test's host ('a.com')"},
      {"TestRedirectCode",
       tests_with("[{host: a.com, path: /, expectedRedirectResponseCode: 300}]"),
       kMap + ".tests[0].expectedRedirectResponseCode", "must be 301, 302, 303, 307 or 308"},
      {"TestWithoutPath", tests_with("[{host: a.com, service: web-backend}]"),
       kMap + ".tests[0].path", "is required"},
  };
}

class UrlMapErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(UrlMapErrors, ReportedAtTheFieldPath) {
  const ErrorCase& item = GetParam();
  LoadResult result = testing::load_with(item.yaml);
  EXPECT_TRUE(testing::has_error(result, item.path, item.text)) << "YAML:\n" << item.yaml;
}

INSTANTIATE_TEST_SUITE_P(Loader, UrlMapErrors, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return info.param.label;
                         });

TEST(UrlMapErrors, ValidRulesProduceNoErrors) {
  LoadResult result = testing::load_with(
      route_rules("[{priority: 0, matchRules: [{pathTemplateMatch: '/{a}/{b=*}/{c=**}'}], service: "
                  "web-backend, routeAction: {urlRewrite: {pathTemplateRewrite: '/x/{c}/{a}'}}}, "
                  "{priority: 2147483647, matchRules: [{prefixMatch: /}], service: web-backend, "
                  "headerAction: {requestHeadersToAdd: [{headerName: X-Tls, headerValue: "
                  "'{tls_version} {client_rtt_msec} {\"json\": 1}'}]}}]"));
  EXPECT_TRUE(result.ok()) << format_errors(result.errors);
}

TEST(UrlMapErrors, AllErrorsAreCollected) {
  LoadResult result = testing::load_with(
      map_with("  hostRules: [{hosts: ['a*b'], pathMatcher: m}]\n"
               "  pathMatchers:\n"
               "  - name: m\n"
               "    defaultService: web-backend\n"
               "    pathRules: [{paths: [nope], service: web-backend}]\n"
               "  tests: [{host: a.com, path: /, expectedRedirectResponseCode: 1}]\n"));
  EXPECT_TRUE(testing::has_error(result, kMap + ".hostRules[0].hosts[0]", "'*'"));
  EXPECT_TRUE(testing::has_error(result, kPathRule + ".paths[0]", "must start with '/'"));
  EXPECT_TRUE(
      testing::has_error(result, kMap + ".tests[0].expectedRedirectResponseCode", "must be 301"));
}

TEST(UrlMapErrors, ErrorsCarryTheFileName) {
  LoadResult result = load_config_text(map_with("  bogus: 1\n"), "maps/lb.yaml");
  EXPECT_TRUE(testing::has_error(result.errors, "maps/lb.yaml", kMap + ".bogus", "unknown field"));
}

}  // namespace
}  // namespace albemu::config::url_map_errors_test
