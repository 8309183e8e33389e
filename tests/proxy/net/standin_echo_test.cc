#include "proxy/net/standin_echo.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace albemu::net {
namespace {

boost::json::object parse(const std::string& text) { return boost::json::parse(text).as_object(); }

TEST(EchoJson, ReportsIdentityMethodPathAndQuery) {
  const StandinIdentity identity{"login", "login-00002-abc", "test"};
  EchoRequest request;
  request.method = "POST";
  request.target = "/home/login?user=ann&x=1";
  request.body_length = 12345;
  const auto echo = parse(echo_json(identity, request));
  EXPECT_EQ(echo.at("service"), "login");
  EXPECT_EQ(echo.at("revision"), "login-00002-abc");
  EXPECT_EQ(echo.at("tag"), "test");
  EXPECT_EQ(echo.at("method"), "POST");
  EXPECT_EQ(echo.at("path"), "/home/login");
  EXPECT_EQ(echo.at("query"), "user=ann&x=1");
  EXPECT_EQ(echo.at("bodyLength").to_number<std::uint64_t>(), 12345u);
}

TEST(EchoJson, PathWithoutQueryHasEmptyQuery) {
  EchoRequest request;
  request.method = "GET";
  request.target = "/a/b";
  const auto echo = parse(echo_json({"cart", "cart-1", ""}, request));
  EXPECT_EQ(echo.at("path"), "/a/b");
  EXPECT_EQ(echo.at("query"), "");
  EXPECT_EQ(echo.at("tag"), "");
  EXPECT_EQ(echo.at("bodyLength").to_number<std::uint64_t>(), 0u);
}

TEST(EchoJson, HeadersAreLowerCasedAndRepeatedValuesKeptInOrder) {
  EchoRequest request;
  request.method = "GET";
  request.target = "/";
  request.headers = {
      {"Host", "example.com"}, {"X-Trace", "one"}, {"x-trace", "two"}, {"Via", "1.1 google"}};
  const auto echo = parse(echo_json({"s", "r", ""}, request));
  const auto& headers = echo.at("headers").as_object();
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers.at("host"), boost::json::array({"example.com"}));
  EXPECT_EQ(headers.at("x-trace"), boost::json::array({"one", "two"}));
  EXPECT_EQ(headers.at("via"), boost::json::array({"1.1 google"}));
  EXPECT_FALSE(headers.contains("Host"));
}

TEST(EchoJson, EscapesValuesIntoValidJson) {
  EchoRequest request;
  request.method = "GET";
  request.target = "/q?a=\"b\"";
  request.headers = {{"X-Quote", "say \"hi\"\\"}};
  const auto echo = parse(echo_json({"s", "r", ""}, request));
  EXPECT_EQ(echo.at("query"), "a=\"b\"");
  EXPECT_EQ(echo.at("headers").at("x-quote"), boost::json::array({"say \"hi\"\\"}));
}

}  // namespace
}  // namespace albemu::net
