// `albemu standin` run as a process, configured like Cloud Run.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <regex>

#include "tests/integration/support/cli_process.h"

namespace albemu::cli_testing {
namespace {

/// The "listening on ADDRESS" the stand-in prints once bound.
std::string wait_for_address(BackgroundProcess& process) {
  std::string address;
  poll_until([&] {
    std::smatch match;
    const std::string out = process.out();
    if (!std::regex_search(out, match, std::regex("listening on ([0-9.]+:[0-9]+)"))) return false;
    address = match[1];
    return true;
  });
  return address;
}

TEST(CliStandin, ReadsCloudRunEnvironmentAndAnswersCurl) {
  BackgroundProcess standin(
      {albemu_binary(), "standin", "--host", "127.0.0.1"},
      {{"PORT", "0"}, {"K_SERVICE", "orders"}, {"K_REVISION", "orders-00042-xyz"}});
  const std::string address = wait_for_address(standin);
  ASSERT_FALSE(address.empty()) << standin.err();
  const auto result = run({"/usr/bin/curl", "-s", "-d", "hello", "http://" + address + "/a?b=c"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto echo = boost::json::parse(result.out);
  EXPECT_EQ(echo.at("service"), "orders");
  EXPECT_EQ(echo.at("revision"), "orders-00042-xyz");
  EXPECT_EQ(echo.at("method"), "POST");
  EXPECT_EQ(echo.at("path"), "/a");
  EXPECT_EQ(echo.at("query"), "b=c");
  EXPECT_EQ(echo.at("bodyLength").to_number<int>(), 5);
  standin.signal(SIGTERM);
  EXPECT_EQ(standin.wait_exit(std::chrono::seconds(10)), 0);
}

TEST(CliStandin, FlagsWinOverTheEnvironment) {
  BackgroundProcess standin({albemu_binary(), "standin", "--host", "127.0.0.1", "--port", "0",
                             "--service", "cart", "--tag", "blue"},
                            {{"PORT", "1"}, {"K_SERVICE", "orders"}});
  const std::string address = wait_for_address(standin);
  ASSERT_FALSE(address.empty()) << standin.err();
  const auto result = http_request(address, "GET", "/", {{"x-standin-status", "404"}});
  EXPECT_EQ(result.status, 404);
  const auto echo = boost::json::parse(result.body);
  EXPECT_EQ(echo.at("service"), "cart");
  EXPECT_EQ(echo.at("tag"), "blue");
  EXPECT_EQ(echo.at("revision"), "cart-00001-standin");
  standin.signal(SIGINT);
  EXPECT_EQ(standin.wait_exit(std::chrono::seconds(10)), 0);
}

TEST(CliStandin, BadPortIsAnError) {
  const auto result = run_albemu({"standin", "--port", "70000"});
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace albemu::cli_testing
