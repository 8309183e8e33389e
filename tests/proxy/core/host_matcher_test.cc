#include "proxy/core/host_matcher.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

TEST(SplitHostPortTest, NamesAddressesAndIpv6Literals) {
  EXPECT_EQ(split_host_port("example.com").host, "example.com");
  EXPECT_EQ(split_host_port("example.com").port, "");
  EXPECT_EQ(split_host_port("example.com:8080").host, "example.com");
  EXPECT_EQ(split_host_port("example.com:8080").port, "8080");
  EXPECT_EQ(split_host_port("[::1]:443").host, "[::1]");
  EXPECT_EQ(split_host_port("[::1]:443").port, "443");
  EXPECT_EQ(split_host_port("[::1]").port, "");
  EXPECT_EQ(split_host_port("::1").host, "::1");  // bare IPv6 has no port
}

TEST(HostMatcherTest, ExactBeforeLongestWildcardBeforeStar) {
  HostMatcher matcher;
  ASSERT_TRUE(matcher.add("*", 0));
  ASSERT_TRUE(matcher.add("*.example.com", 1));
  ASSERT_TRUE(matcher.add("*.api.example.com", 2));
  ASSERT_TRUE(matcher.add("www.example.com", 3));
  ASSERT_TRUE(matcher.add("*-blue.example.com", 4));
  EXPECT_EQ(matcher.find("www.example.com", 80), 3u);
  EXPECT_EQ(matcher.find("v1.api.example.com", 80), 2u);
  EXPECT_EQ(matcher.find("api.example.com", 80), 1u);
  EXPECT_EQ(matcher.find("cart-blue.example.com", 80), 4u);
  EXPECT_EQ(matcher.find("example.com", 80), 0u);
  EXPECT_EQ(matcher.find("[::1]:8080", 80), 0u);
}

TEST(HostMatcherTest, PortsRestrictEntriesThatNameThem) {
  HostMatcher matcher;
  ASSERT_TRUE(matcher.add("example.com:8080", 0));
  ASSERT_TRUE(matcher.add("*.example.com:9090", 1));
  EXPECT_EQ(matcher.find("example.com:8080", 80), 0u);
  EXPECT_EQ(matcher.find("example.com", 8080), 0u);
  EXPECT_FALSE(matcher.find("example.com", 80));
  EXPECT_EQ(matcher.find("a.example.com", 9090), 1u);
  EXPECT_FALSE(matcher.find("a.example.com:9091", 9090));
}

TEST(HostMatcherTest, DuplicatesAreRefusedCaseInsensitively) {
  HostMatcher matcher;
  EXPECT_TRUE(matcher.add("Example.com", 0));
  EXPECT_FALSE(matcher.add("example.COM", 1));
  EXPECT_EQ(matcher.find("EXAMPLE.COM", 80), 0u);
}

TEST(HostMatcherTest, LongHostsStillMatch) {
  HostMatcher matcher;
  ASSERT_TRUE(matcher.add("*.example.com", 7));
  const std::string long_host = std::string(400, 'a') + ".example.com";
  EXPECT_EQ(matcher.find(long_host, 80), 7u);
  EXPECT_FALSE(matcher.find(std::string(400, 'a'), 80));
}

}  // namespace
}  // namespace albemu::core
