// `albemu serve` and Cloud Run services that declare useHttp2 and no URL: albemu starts an h2c
// stand-in for each (and each tag), reaches it in h2c, keeps it across reloads, and stops it
// once the service is gone.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>

#include "tests/integration/support/cli_process.h"
#include "tests/integration/support/cli_serve.h"
#include "tests/integration/support/proxy_harness.h"

namespace albemu::cli_testing {
namespace {

/// reload_config's URL mask over `grpc` (useHttp2, no URL, a tag `blue` without one) and
/// `plain` (no URL), or over `plain` only.
std::string h2c_config(bool with_grpc, const std::string& comment = "") {
  std::string yaml = reload_config(
      with_grpc ? std::vector<std::string>{"plain", "grpc"} : std::vector<std::string>{"plain"},
      comment);
  const std::string grpc = "  - name: grpc\n";
  if (const auto at = yaml.find(grpc); at != std::string::npos) {
    yaml.insert(at + grpc.size(), "    useHttp2: true\n    tags:\n      blue: []\n");
  }
  return yaml;
}

/// The URLs /config shows for Cloud Run service `name` (tag empty: the untagged ones).
std::vector<std::string> urls_of(const boost::json::object& config, const std::string& name,
                                 const std::string& tag = "") {
  std::vector<std::string> out;
  for (const auto& service : config.at("cloudRunServices").as_array()) {
    if (service.at("name") != name.c_str()) continue;
    // An empty list is left out.
    const auto& object = service.as_object();
    const boost::json::value* urls = object.if_contains("urls");
    if (!tag.empty()) urls = object.at("tags").as_object().if_contains(tag);
    if (urls == nullptr) continue;
    for (const auto& url : urls->as_array()) out.emplace_back(url.as_string());
  }
  return out;
}

TEST(CliServeH2cStandin, UseHttp2ServiceWithoutUrlGetsAnH2cStandIn) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), h2c_config(true));
  ServeProcess serve({"-c", dir.file("lb.yaml")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();

  const auto config = serve.config();
  const auto untagged = urls_of(config, "grpc");
  const auto blue = urls_of(config, "grpc", "blue");
  ASSERT_EQ(untagged.size(), 1u) << boost::json::serialize(config);
  ASSERT_EQ(blue.size(), 1u) << boost::json::serialize(config);
  EXPECT_EQ(untagged[0].rfind("http://127.0.0.1:", 0), 0u) << untagged[0];
  EXPECT_NE(untagged[0], blue[0]);
  EXPECT_TRUE(urls_of(config, "plain").empty()) << "only useHttp2 services get one";

  // Through albemu (HTTP/1.1 from the client, h2c to the stand-in) ...
  const std::string rule = "127.0.0.1:" + serve.port("rule");
  const auto routed = http_request(rule, "GET", "/grpc/items");
  ASSERT_EQ(routed.status, 200) << routed.body;
  const auto echo = boost::json::parse(routed.body);
  EXPECT_EQ(echo.at("service"), "grpc");
  EXPECT_EQ(echo.at("revision"), "grpc-00001-std");
  EXPECT_EQ(routed.headers.at("x-standin-service"), "grpc");
  // ... and directly: it speaks h2c only.
  const auto direct = testing::run_curl({"--http2-prior-knowledge", untagged[0] + "/direct"});
  EXPECT_EQ(direct.status, 200);
  EXPECT_EQ(direct.headers.rfind("HTTP/2 200", 0), 0u) << direct.headers;
  const auto tagged = testing::run_curl({"--http2-prior-knowledge", blue[0] + "/"});
  EXPECT_EQ(boost::json::parse(tagged.body).at("tag"), "blue") << tagged.body;
  // The other service is still the built-in stand-in's.
  const auto plain = http_request(rule, "GET", "/plain/x");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers.count("x-standin-service"), 0u);

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliServeH2cStandin, ReloadKeepsTheStandInAndRemovalStopsIt) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), h2c_config(true));
  ServeProcess serve({"-c", dir.file("lb.yaml")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const auto before = urls_of(serve.config(), "grpc");
  ASSERT_EQ(before.size(), 1u);

  write_file(dir.file("lb.yaml"), h2c_config(true, "an edit that keeps the service"));
  ASSERT_EQ(http_request(serve.admin(), "POST", "/reload").status, 200);
  EXPECT_EQ(urls_of(serve.config(), "grpc"), before) << "the same stand-in serves on";
  EXPECT_EQ(testing::run_curl({"--http2-prior-knowledge", before[0] + "/"}).status, 200);

  write_file(dir.file("lb.yaml"), h2c_config(false, "the service is gone"));
  ASSERT_EQ(http_request(serve.admin(), "POST", "/reload").status, 200);
  EXPECT_TRUE(urls_of(serve.config(), "grpc").empty());
  // The reload that applied the config stopped the stand-in: its port refuses.
  const auto gone = testing::run_curl({"--http2-prior-knowledge", before[0] + "/"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_EQ(gone.status, 0);
}

}  // namespace
}  // namespace albemu::cli_testing
