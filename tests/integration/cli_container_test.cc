// What the container image relies on: `albemu healthcheck` (its HEALTHCHECK, with no curl in
// the image) and `serve --listen-address` (the embedded demo's 127.0.0.1 rule reachable from
// outside a container; a config written for another address served here).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include "tests/integration/support/cli_serve.h"

namespace albemu::cli_testing {
namespace {

/// The reload config with its forwarding rule on an address this machine does not have.
std::string config_on_foreign_address() {
  std::string yaml = reload_config({"login"});
  const std::string loopback = "IPAddress: 127.0.0.1";
  yaml.replace(yaml.find(loopback), loopback.size(), "IPAddress: 10.1.2.99");
  return yaml;
}

TEST(CliHealthcheck, HealthyAdminExitsZeroAndNamesTheStatus) {
  ServeProcess serve({});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const auto result = run_albemu({"healthcheck", "--url", "http://" + serve.admin() + "/healthz"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "http://" + serve.admin() + "/healthz: 200\n");
}

TEST(CliHealthcheck, NonSuccessStatusExitsOne) {
  ServeProcess serve({});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  // The admin endpoint answers 404 for a path it does not serve.
  const auto result = run_albemu({"healthcheck", "--url", "http://" + serve.admin() + "/nosuch"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find(": 404"), std::string::npos) << result.out;
}

TEST(CliHealthcheck, RefusedConnectionExitsOneWithTheReason) {
  // A port that was just free: bind, read the port, close.
  boost::asio::io_context io_context;
  boost::asio::ip::tcp::acceptor acceptor(io_context,
                                          {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
  const auto result = run_albemu({"healthcheck", "--url", url});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(url + ": Connection refused"), std::string::npos) << result.err;
}

TEST(CliHealthcheck, StalledServerTimesOut) {
  // Accepts the connection (the kernel does, from the backlog) but never answers.
  boost::asio::io_context io_context;
  boost::asio::ip::tcp::acceptor acceptor(io_context,
                                          {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string url =
      "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_albemu({"healthcheck", "--url", url, "--timeout-ms", "300"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(result.err.find(url), std::string::npos) << result.err;
}

TEST(CliHealthcheck, RejectsWhatIsNotAnHttpUrl) {
  for (const std::string url : {"https://127.0.0.1/", "127.0.0.1:9901", "http://", "http://[::1"}) {
    const auto result = run_albemu({"healthcheck", "--url", url});
    EXPECT_EQ(result.exit_code, 2) << url;
    EXPECT_NE(result.err.find("not an http:// URL"), std::string::npos) << url << result.err;
  }
}

TEST(CliServeListenAddress, ForeignIpAddressFailsToBindWithoutIt) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), config_on_foreign_address());
  const auto result = run_albemu(
      {"serve", "-c", dir.file("lb.yaml"), "--ephemeral-ports", "--admin", "127.0.0.1:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("forwardingRules[rule]"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("cannot bind 10.1.2.99:0"), std::string::npos) << result.err;
}

TEST(CliServeListenAddress, BindsEveryRuleOnTheGivenAddress) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), config_on_foreign_address());
  ServeProcess serve({"-c", dir.file("lb.yaml"), "--listen-address", "127.0.0.1"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string address = serve.listener("rule");
  EXPECT_TRUE(address.starts_with("127.0.0.1:")) << address;
  const auto login = http_request(address, "GET", "/login/web");
  ASSERT_EQ(login.status, 200) << login.error << login.body;
  EXPECT_EQ(boost::json::parse(login.body).at("service"), "login");
}

TEST(CliServeListenAddress, WildcardServesTheEmbeddedDemoOnEveryAddress) {
  ServeProcess serve({"--listen-address", "0.0.0.0"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string address = serve.listener("demo-http");
  ASSERT_TRUE(address.starts_with("0.0.0.0:")) << address;
  const auto cart = http_request("127.0.0.1:" + serve.port("demo-http"), "GET", "/cart/items");
  ASSERT_EQ(cart.status, 200) << cart.error << cart.body;
  EXPECT_EQ(boost::json::parse(cart.body).at("service"), "cart");
}

}  // namespace
}  // namespace albemu::cli_testing
