#include "proxy/net/http_date.h"

#include <gtest/gtest.h>

namespace albemu::net {
namespace {

TEST(HttpDate, FormatsAnImfFixdate) {
  // RFC 9110 5.6.7's example.
  EXPECT_EQ(format_http_date(std::chrono::system_clock::from_time_t(784111777)),
            "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(std::chrono::system_clock::from_time_t(1796428800)),
            "Sat, 05 Dec 2026 00:00:00 GMT");
}

TEST(HttpDate, CurrentDateFollowsTheClock) {
  const auto before = format_http_date(std::chrono::system_clock::now());
  const std::string now(http_date());
  const auto after = format_http_date(std::chrono::system_clock::now());
  EXPECT_TRUE(now == before || now == after) << before << " / " << now << " / " << after;
}

}  // namespace
}  // namespace albemu::net
