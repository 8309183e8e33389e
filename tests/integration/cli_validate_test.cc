// `albemu validate` run as a process: exit codes, text and GCP-shaped JSON output.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "tests/integration/support/cli_process.h"

namespace albemu::cli_testing {
namespace {

constexpr const char* kBase = R"yaml(
project: p
region: us-central1
cloudRunServices:
  - name: login
networkEndpointGroups:
  - name: neg
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
backendServices:
  - name: bs
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: neg}]
  - name: other-bs
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: neg}]
)yaml";

std::string url_map(const std::string& name, const std::string& test_service) {
  return "  - name: " + name +
         "\n    defaultService: bs\n    tests:\n      - host: example.com\n        path: /login\n"
         "        service: " +
         test_service + "\n";
}

TEST(CliValidate, ShippedExamplesValidate) {
  for (const char* example : {"config/examples/demo.yaml", "config/examples/url-masks.yaml"}) {
    const auto result = run_albemu({"validate", "-c", source_path(example)});
    EXPECT_EQ(result.exit_code, 0) << example << "\n" << result.out << result.err;
    EXPECT_NE(result.out.find("OK"), std::string::npos) << result.out;
  }
}

TEST(CliValidate, WithoutConfigValidatesTheEmbeddedDemo) {
  const auto result = run_albemu({"validate", "--format", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto json = boost::json::parse(result.out);
  EXPECT_EQ(json.at("result").at("testPassed"), true);
}

TEST(CliValidate, JsonForOneUrlMapHasGcpsShape) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), std::string(kBase) + "urlMaps:\n" + url_map("good-map", "bs"));
  const auto result = run_albemu({"validate", "-c", dir.file("lb.yaml"), "--format", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto json = boost::json::parse(result.out).as_object();
  ASSERT_EQ(json.size(), 1u);
  const auto& body = json.at("result").as_object();
  EXPECT_EQ(body.at("loadSucceeded"), true);
  EXPECT_EQ(body.at("loadErrors"), boost::json::array());
  EXPECT_EQ(body.at("testPassed"), true);
  EXPECT_EQ(body.at("testFailures"), boost::json::array());
}

TEST(CliValidate, FailingUrlMapTestExitsOneAndReportsExpectedAndActual) {
  TempDir dir;
  write_file(dir.file("lb.yaml"),
             std::string(kBase) + "urlMaps:\n" + url_map("bad-map", "other-bs"));
  const auto json_result = run_albemu({"validate", "-c", dir.file("lb.yaml"), "--format", "json"});
  EXPECT_EQ(json_result.exit_code, 1) << json_result.out << json_result.err;
  const auto body = boost::json::parse(json_result.out).at("result").as_object();
  EXPECT_EQ(body.at("loadSucceeded"), true);
  EXPECT_EQ(body.at("testPassed"), false);
  ASSERT_EQ(body.at("testFailures").as_array().size(), 1u);
  const auto& failure = body.at("testFailures").at(0).as_object();
  EXPECT_EQ(failure.at("host"), "example.com");
  EXPECT_EQ(failure.at("path"), "/login");
  EXPECT_NE(failure.at("expectedService").as_string().find("other-bs"), boost::json::string::npos);
  EXPECT_NE(failure.at("actualService").as_string().find("bs"), boost::json::string::npos);

  const auto text_result = run_albemu({"validate", "-c", dir.file("lb.yaml")});
  EXPECT_EQ(text_result.exit_code, 1);
  EXPECT_NE(text_result.out.find("urlMaps[bad-map]"), std::string::npos) << text_result.out;
  EXPECT_NE(text_result.out.find("FAILED"), std::string::npos) << text_result.out;
}

TEST(CliValidate, SeveralUrlMapsAreKeyedByName) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), std::string(kBase) + "urlMaps:\n" + url_map("map-a", "bs") +
                                      url_map("map-b", "other-bs"));
  const auto result = run_albemu({"validate", "-c", dir.file("lb.yaml"), "--format", "json"});
  EXPECT_EQ(result.exit_code, 1);
  const auto json = boost::json::parse(result.out).as_object();
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json.at("map-a").at("result").at("testPassed"), true);
  EXPECT_EQ(json.at("map-b").at("result").at("testPassed"), false);
}

TEST(CliValidate, BrokenFieldIsReportedWithFileAndFieldPath) {
  TempDir dir;
  write_file(dir.file("lb.yaml"),
             std::string(kBase) + "urlMaps:\n  - name: typo-map\n    defaultServise: bs\n");
  const auto result = run_albemu({"validate", "-c", dir.file("lb.yaml")});
  EXPECT_EQ(result.exit_code, 1);
  const std::string all = result.out + result.err;
  EXPECT_NE(all.find("lb.yaml"), std::string::npos) << all;
  EXPECT_NE(all.find("defaultServise"), std::string::npos) << all;
}

TEST(CliValidate, ErrorOutsideUrlMapsGoesToStderrAndFails) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), std::string(kBase) + "urlMaps:\n" + url_map("good-map", "bs") +
                                      "backendServices2: []\n");
  const auto result = run_albemu({"validate", "-c", dir.file("lb.yaml"), "--format", "json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("backendServices2"), std::string::npos) << result.err;
}

TEST(CliValidate, DirectoryAndSeveralFilesAreMerged) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("conf"));
  write_file(dir.file("conf/backends.yaml"), kBase);
  write_file(dir.file("maps.yaml"),
             "project: p\nregion: us-central1\nurlMaps:\n" + url_map("m", "bs"));
  const auto result = run_albemu({"validate", "-c", dir.file("conf"), "-c", dir.file("maps.yaml")});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST(CliValidate, MissingFileFails) {
  const auto result = run_albemu({"validate", "-c", "/nonexistent/albemu.yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE((result.out + result.err).find("/nonexistent/albemu.yaml"), std::string::npos);
}

}  // namespace
}  // namespace albemu::cli_testing
