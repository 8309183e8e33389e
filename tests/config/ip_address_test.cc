#include "config/ip_address.h"

#include <gtest/gtest.h>

namespace albemu::config {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndPrintsThemCanonically) {
  const auto v4 = parse_ip_address("10.1.2.99");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->to_string(), "10.1.2.99");
  const auto v6 = parse_ip_address("0:0::1");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->to_string(), "::1");
  EXPECT_EQ(parse_ip_address("::1"), v6);
}

TEST(IpAddress, RefusesWhatIsNoAddress) {
  for (const char* text :
       {"", "10.1.2", "10.1.2.256", "[::1]", "host.example", "::1/128", " 10.0.0.1", "10.0.0.1 "}) {
    EXPECT_FALSE(parse_ip_address(text)) << text;
  }
}

TEST(IpRange, ContainsByPrefixInEitherFamily) {
  const auto range = parse_ip_range("10.1.2.0/24");
  ASSERT_TRUE(range);
  EXPECT_TRUE(range->contains(*parse_ip_address("10.1.2.200")));
  EXPECT_FALSE(range->contains(*parse_ip_address("10.1.3.1")));
  EXPECT_FALSE(range->contains(*parse_ip_address("::ffff:a01:301")));
  const auto v6 = parse_ip_range("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parse_ip_address("2001:db8:1::7")));
  EXPECT_FALSE(v6->contains(*parse_ip_address("10.1.2.3")));
  const auto single = parse_ip_range("10.1.2.3");
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->contains(*parse_ip_address("10.1.2.3")));
  EXPECT_FALSE(single->contains(*parse_ip_address("10.1.2.4")));
  EXPECT_TRUE(parse_ip_range("0.0.0.0/0")->contains(*parse_ip_address("192.0.2.1")));
}

TEST(IpRange, RefusesBadPrefixes) {
  for (const char* text :
       {"10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "::/129", "*", "10.0.0/8"}) {
    EXPECT_FALSE(parse_ip_range(text)) << text;
  }
  EXPECT_TRUE(parse_ip_range("::/128"));
}

}  // namespace
}  // namespace albemu::config
