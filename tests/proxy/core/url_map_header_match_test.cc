// headerMatches (every kind, invert, :authority, :method, PORT) and queryParameterMatches.

#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using testing::backends;
using testing::compile_yaml;
using testing::route;
using testing::TestRequest;

// One route rule per predicate, each on its own path prefix, so a test names the predicate
// by the path it requests; anything unmatched goes to `home`.
std::string header_rules_yaml() {
  return backends({"fallback", "home", "hit"}) + R"(
urlMaps:
  - name: headers
    defaultService: fallback
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: home
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /exact
                headerMatches:
                  - headerName: X-User
                    exactMatch: alice
            service: hit
          - priority: 2
            matchRules:
              - prefixMatch: /prefix
                headerMatches:
                  - headerName: user-agent
                    prefixMatch: curl/
            service: hit
          - priority: 3
            matchRules:
              - prefixMatch: /suffix
                headerMatches:
                  - headerName: x-file
                    suffixMatch: .png
            service: hit
          - priority: 4
            matchRules:
              - prefixMatch: /regex
                headerMatches:
                  - headerName: x-version
                    regexMatch: "v[0-9]+"
            service: hit
          - priority: 5
            matchRules:
              - prefixMatch: /present
                headerMatches:
                  - headerName: x-debug
                    presentMatch: true
            service: hit
          - priority: 6
            matchRules:
              - prefixMatch: /range
                headerMatches:
                  - headerName: x-n
                    rangeMatch:
                      rangeStart: -5
                      rangeEnd: 0
            service: hit
          - priority: 7
            matchRules:
              - prefixMatch: /invert
                headerMatches:
                  - headerName: x-user
                    exactMatch: bob
                    invertMatch: true
            service: hit
          - priority: 8
            matchRules:
              - prefixMatch: /authority
                headerMatches:
                  - headerName: ":authority"
                    exactMatch: api.example.com:8443
            service: hit
          - priority: 9
            matchRules:
              - prefixMatch: /method
                headerMatches:
                  - headerName: ":method"
                    exactMatch: POST
            service: hit
          - priority: 10
            matchRules:
              - prefixMatch: /port
                headerMatches:
                  - headerName: PORT
                    regexMatch: "8[0-9]{3}"
            service: hit
          - priority: 11
            matchRules:
              - prefixMatch: /and
                headerMatches:
                  - headerName: x-a
                    exactMatch: "1"
                  - headerName: x-b
                    exactMatch: "2"
            service: hit
          - priority: 12
            matchRules:
              - prefixMatch: /query-exact
                queryParameterMatches:
                  - name: color
                    exactMatch: dark blue
            service: hit
          - priority: 13
            matchRules:
              - prefixMatch: /query-regex
                queryParameterMatches:
                  - name: id
                    regexMatch: "[0-9]+"
            service: hit
          - priority: 14
            matchRules:
              - prefixMatch: /query-present
                queryParameterMatches:
                  - name: debug
                    presentMatch: true
            service: hit
)";
}

class UrlMapHeaderMatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    map_ = compile_yaml(header_rules_yaml());
    ASSERT_TRUE(map_);
  }
  std::string_view service(std::string target,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
    last_ = route(*map_, "example.com", std::move(target), std::move(headers));
    return last_.backend_service;
  }
  std::shared_ptr<const CompiledUrlMap> map_;
  RouteDecision last_;
};

TEST_F(UrlMapHeaderMatchTest, ExactMatchComparesTheValueCaseSensitivelyAndTheNameNot) {
  EXPECT_EQ(service("/exact", {{"x-user", "alice"}}), "hit");
  EXPECT_EQ(service("/exact", {{"X-USER", "alice"}}), "hit");
  EXPECT_EQ(service("/exact", {{"x-user", "Alice"}}), "home");
  EXPECT_EQ(service("/exact", {{"x-user", "alice2"}}), "home");
  EXPECT_EQ(service("/exact"), "home");
}

TEST_F(UrlMapHeaderMatchTest, PrefixAndSuffixMatch) {
  EXPECT_EQ(service("/prefix", {{"User-Agent", "curl/8.0"}}), "hit");
  EXPECT_EQ(service("/prefix", {{"User-Agent", "wget curl/8.0"}}), "home");
  EXPECT_EQ(service("/suffix", {{"x-file", "a.png"}}), "hit");
  EXPECT_EQ(service("/suffix", {{"x-file", "a.png.jpg"}}), "home");
}

TEST_F(UrlMapHeaderMatchTest, RegexMustMatchTheWholeValue) {
  EXPECT_EQ(service("/regex", {{"x-version", "v12"}}), "hit");
  EXPECT_EQ(service("/regex", {{"x-version", "v12-beta"}}), "home");
  EXPECT_EQ(service("/regex", {{"x-version", "xv1"}}), "home");
}

TEST_F(UrlMapHeaderMatchTest, PresentMatchCountsAnEmptyValue) {
  EXPECT_EQ(service("/present", {{"x-debug", ""}}), "hit");
  EXPECT_EQ(service("/present", {{"x-debug", "1"}}), "hit");
  EXPECT_EQ(service("/present"), "home");
}

TEST_F(UrlMapHeaderMatchTest, RangeMatchFollowsGcpExamples) {
  EXPECT_EQ(service("/range", {{"x-n", "-3"}}), "hit");
  EXPECT_EQ(service("/range", {{"x-n", "-5"}}), "hit");  // start is inclusive
  EXPECT_EQ(service("/range", {{"x-n", "0"}}), "home");  // end is exclusive
  EXPECT_EQ(service("/range", {{"x-n", "0.25"}}), "home");
  EXPECT_EQ(service("/range", {{"x-n", "-3someString"}}), "home");
  EXPECT_EQ(service("/range", {{"x-n", ""}}), "home");
  EXPECT_EQ(service("/range", {{"x-n", "abc"}}), "home");
  EXPECT_EQ(service("/range", {{"x-n", "-99999999999999999999"}}), "home");  // overflows int64
  EXPECT_EQ(service("/range"), "home");
}

TEST_F(UrlMapHeaderMatchTest, InvertMatchNegatesAndAbsentHeaderMatches) {
  EXPECT_EQ(service("/invert", {{"x-user", "alice"}}), "hit");
  EXPECT_EQ(service("/invert", {{"x-user", "bob"}}), "home");
  EXPECT_EQ(service("/invert"), "hit");
}

TEST_F(UrlMapHeaderMatchTest, AuthorityIsTheHostHeader) {
  last_ = route(*map_, "api.example.com:8443", "/authority");
  EXPECT_EQ(last_.backend_service, "hit");
  last_ = route(*map_, "api.example.com", "/authority");
  EXPECT_EQ(last_.backend_service, "home");
}

TEST_F(UrlMapHeaderMatchTest, MethodIsTheRequestMethod) {
  TestRequest request;
  request.target = "/method";
  request.method = "POST";
  EXPECT_EQ(route(*map_, request).backend_service, "hit");
  request.method = "GET";
  EXPECT_EQ(route(*map_, request).backend_service, "home");
}

TEST_F(UrlMapHeaderMatchTest, PortComesFromHostOrElseTheListener) {
  last_ = route(*map_, "example.com:8080", "/port");
  EXPECT_EQ(last_.backend_service, "hit");
  last_ = route(*map_, "example.com:80", "/port");
  EXPECT_EQ(last_.backend_service, "home");
  TestRequest request;
  request.host = "example.com";
  request.target = "/port";
  request.listener_port = 8443;
  EXPECT_EQ(route(*map_, request).backend_service, "hit");
  request.listener_port = 80;
  EXPECT_EQ(route(*map_, request).backend_service, "home");
}

TEST_F(UrlMapHeaderMatchTest, AllHeaderMatchesOfAMatchRuleMustHold) {
  EXPECT_EQ(service("/and", {{"x-a", "1"}, {"x-b", "2"}}), "hit");
  EXPECT_EQ(service("/and", {{"x-a", "1"}}), "home");
  EXPECT_EQ(service("/and", {{"x-a", "1"}, {"x-b", "3"}}), "home");
}

TEST_F(UrlMapHeaderMatchTest, QueryExactMatchDecodesNamesAndValues) {
  EXPECT_EQ(service("/query-exact?color=dark%20blue"), "hit");
  EXPECT_EQ(service("/query-exact?x=1&c%6Flor=dark%20blue"), "hit");
  EXPECT_EQ(service("/query-exact?color=dark"), "home");
  EXPECT_EQ(service("/query-exact"), "home");
}

TEST_F(UrlMapHeaderMatchTest, QueryRegexMatchesTheWholeValue) {
  EXPECT_EQ(service("/query-regex?id=123"), "hit");
  EXPECT_EQ(service("/query-regex?id=12a"), "home");
  EXPECT_EQ(service("/query-regex?ids=1"), "home");
}

TEST_F(UrlMapHeaderMatchTest, QueryPresentMatchNeedsNoValue) {
  EXPECT_EQ(service("/query-present?debug"), "hit");
  EXPECT_EQ(service("/query-present?a=1&debug="), "hit");
  EXPECT_EQ(service("/query-present?debugging=1"), "home");
  EXPECT_EQ(service("/query-present"), "home");
}

}  // namespace
}  // namespace albemu::core
