// `albemu route` run as a process on the shipped URL-mask examples.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/integration/support/cli_process.h"

namespace albemu::cli_testing {
namespace {

boost::json::object route(const std::vector<std::string>& extra, int expected_exit = 0) {
  std::vector<std::string> args{"route", "-c", source_path("config/examples/url-masks.yaml"),
                                "--compact"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = run_albemu(args);
  EXPECT_EQ(result.exit_code, expected_exit) << result.out << result.err;
  return boost::json::parse(result.out).as_object();
}

struct MaskRow {
  const char* url;
  const char* backend_service;
  const char* service;
  const char* tag;  // "" for untagged
};

// The rows of the table at the top of config/examples/url-masks.yaml.
TEST(CliRoute, ReproducesEveryUrlMaskRow) {
  const MaskRow rows[] = {
      {"https://login-home.example.com/web", "mask-service-home", "login", ""},
      {"https://example.com/login/web", "mask-domain-service", "login", ""},
      {"https://other.test/login/web", "mask-path-service", "login", ""},
      {"https://test.login.example.com/web", "mask-tag-service-host", "login", "test"},
      {"https://example.com/home/login/test", "mask-domain-home-service-tag", "login", "test"},
      {"https://other.test/home/login/test", "mask-path-home-service-tag", "login", "test"},
      {"https://test.example.com/home/login/web", "mask-tag-host-home-service", "login", "test"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.url);
    const auto out = route({"--url", row.url});
    EXPECT_EQ(out.at("forwardingRule"), "url-masks-http");
    EXPECT_EQ(out.at("urlMap"), "url-masks");
    EXPECT_EQ(out.at("action"), "forward");
    EXPECT_EQ(out.at("backendService"), row.backend_service);
    EXPECT_EQ(out.at("networkEndpointGroup"), row.backend_service);
    EXPECT_EQ(out.at("cloudRunService"), row.service);
    if (*row.tag == '\0') {
      EXPECT_TRUE(out.at("tag").is_null());
    } else {
      EXPECT_EQ(out.at("tag"), row.tag);
    }
  }
}

TEST(CliRoute, UndeclaredServiceIsFailedToPickBackendAndStillExitsZero) {
  const auto out = route({"--url", "http://other.test/nosuch/web"});
  EXPECT_EQ(out.at("action"), "error");
  EXPECT_EQ(out.at("status").to_number<int>(), 503);
  EXPECT_EQ(out.at("proxyStatus"),
            R"(error="destination_unavailable"; details="failed_to_pick_backend")");
}

TEST(CliRoute, HostHeaderOverridesTheUrlHost) {
  const auto out = route(
      {"--url", "http://127.0.0.1:8081/web", "-H", "Host: test.login.example.com", "-X", "POST"});
  EXPECT_EQ(out.at("backendService"), "mask-tag-service-host");
  EXPECT_EQ(out.at("tag"), "test");
}

TEST(CliRoute, UnknownForwardingRuleIsAUsageError) {
  const auto out = route({"--url", "http://x/login", "--forwarding-rule", "nope"}, 2);
  EXPECT_EQ(out.at("action"), "error");
}

TEST(CliRoute, BrokenConfigExitsNonZeroWithTheErrors) {
  TempDir dir;
  write_file(dir.file("bad.yaml"), "urlMaps:\n  - name: m\n    defaultService: missing-bs\n");
  const auto result = run_albemu({"route", "-c", dir.file("bad.yaml"), "--url", "http://x/"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("bad.yaml"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST(CliRoute, DefaultOutputIsIndentedJson) {
  const auto result = run_albemu({"route", "--url", "http://127.0.0.1:8080/login/web"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\n  \"forwardingRule\": \"demo-http\""), std::string::npos)
      << result.out;
  EXPECT_EQ(boost::json::parse(result.out).at("cloudRunService"), "login");
}

}  // namespace
}  // namespace albemu::cli_testing
