// run_url_map_tests(): a URL map's `tests` run against its compiled table, with GCP's
// failure fields.

#include "proxy/core/url_map_tests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/proxy/core/url_map_test_support.h"

namespace albemu::core {
namespace {

using core::testing::backends;
using core::testing::try_load_url_map;

std::vector<UrlMapTestFailure> run(std::string_view tests_yaml) {
  const std::string yaml = backends({"web", "api", "split-a", "split-b"}) + R"(
urlMaps:
  - name: tested
    defaultService: web
    hostRules:
      - hosts: [example.com]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: web
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /api/
                headerMatches:
                  - headerName: x-api
                    presentMatch: true
            service: api
            routeAction:
              urlRewrite:
                hostRewrite: api.internal
                pathPrefixRewrite: /v1/
          - priority: 2
            matchRules:
              - prefixMatch: /old/
            urlRedirect:
              httpsRedirect: true
              prefixRedirect: /new/
              redirectResponseCode: FOUND
          - priority: 3
            matchRules:
              - prefixMatch: /split
            routeAction:
              weightedBackendServices:
                - backendService: split-a
                  weight: 90
                - backendService: split-b
                  weight: 10
)" + std::string(tests_yaml);
  auto loaded = try_load_url_map(yaml);
  EXPECT_TRUE(loaded.loaded.ok()) << format_errors(loaded.loaded.errors);
  EXPECT_TRUE(loaded.compiled) << format_errors(loaded.compile_errors);
  if (!loaded.compiled) return {};
  return run_url_map_tests(loaded.model(), *loaded.compiled);
}

TEST(UrlMapTestsTest, PassingTestsReportNothing) {
  const auto failures = run(R"(
    tests:
      - host: example.com
        path: /
        service: web
      - description: rewritten for the API
        host: example.com
        path: /api/users?id=1
        headers:
          - name: x-api
            value: "1"
        service: api
        expectedOutputUrl: http://api.internal/v1/users?id=1
      - host: example.com
        path: /api/users
        headers:
          - name: x-api
            value: "1"
        service: api
        expectedOutputUrl: https://api.internal/v1/users
      - host: example.com
        path: /old/page?x=1
        expectedOutputUrl: https://example.com/new/page?x=1
        expectedRedirectResponseCode: 302
      - host: other.example.org
        path: /anything
        service: web
        expectedOutputUrl: http://other.example.org/anything
)");
  for (const auto& failure : failures) ADD_FAILURE() << failure.message;
}

TEST(UrlMapTestsTest, WrongServiceIsReportedWithBothNames) {
  const auto failures = run(R"(
    tests:
      - host: example.com
        path: /api/users
        service: api
)");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].host, "example.com");
  EXPECT_EQ(failures[0].path, "/api/users");
  EXPECT_EQ(failures[0].expected_service, "api");
  EXPECT_EQ(failures[0].actual_service, "web");
  EXPECT_THAT(failures[0].message, ::testing::HasSubstr("expected backend service 'api'"));
}

TEST(UrlMapTestsTest, WrongOutputUrlIsReported) {
  const auto failures = run(R"(
    tests:
      - host: example.com
        path: /api/users
        headers:
          - name: X-Api
            value: ""
        service: api
        expectedOutputUrl: http://api.internal/users
)");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].expected_output_url, "http://api.internal/users");
  EXPECT_EQ(failures[0].actual_output_url, "http://api.internal/v1/users");
  EXPECT_EQ(failures[0].headers.size(), 1u);
}

TEST(UrlMapTestsTest, RedirectCodeAndLocationAreChecked) {
  const auto failures = run(R"(
    tests:
      - host: example.com
        path: /old/a
        expectedOutputUrl: http://example.com/new/a
        expectedRedirectResponseCode: 301
      - host: example.com
        path: /plain
        expectedRedirectResponseCode: 301
      - host: example.com
        path: /old/a
        service: web
)");
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[0].expected_redirect_response_code, 301);
  EXPECT_EQ(failures[0].actual_redirect_response_code, 302);
  EXPECT_EQ(failures[0].actual_output_url, "https://example.com/new/a");
  EXPECT_THAT(failures[0].message, ::testing::HasSubstr("expected redirect code 301 but got 302"));
  EXPECT_THAT(failures[0].message, ::testing::HasSubstr("expected redirect location"));
  EXPECT_EQ(failures[1].actual_redirect_response_code, 0);
  EXPECT_THAT(failures[1].message, ::testing::HasSubstr("forwarded to 'web'"));
  EXPECT_THAT(failures[2].message, ::testing::HasSubstr("redirected"));
}

TEST(UrlMapTestsTest, AnyServiceOfAWeightedSplitPasses) {
  const auto failures = run(R"(
    tests:
      - host: example.com
        path: /split
        service: split-a
      - host: example.com
        path: /split
        service: split-b
      - host: example.com
        path: /split
        service: api
)");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].expected_service, "api");
}

}  // namespace
}  // namespace albemu::core
