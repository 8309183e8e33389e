#include "proxy/admin/console_page.h"

#include <gtest/gtest.h>

#include <string>

namespace albemu::admin {
namespace {

TEST(ConsolePage, NonceFillsEveryPlaceholder) {
  EXPECT_EQ(render_console_page("<script nonce=\"{{NONCE}}\"></script><style nonce=\"{{NONCE}}\">",
                                "abc"),
            "<script nonce=\"abc\"></script><style nonce=\"abc\">");
  EXPECT_EQ(render_console_page("no placeholder {{NONCE", "abc"), "no placeholder {{NONCE");
  const std::string page = render_console_page(embedded_console_page(), "0123");
  EXPECT_NE(page.find("<script nonce=\"0123\">"), std::string::npos);
  EXPECT_NE(page.find("<style nonce=\"0123\">"), std::string::npos);
  EXPECT_EQ(page.find("{{NONCE}}"), std::string::npos);
  // Self-contained: nothing is loaded from elsewhere.
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
}

}  // namespace
}  // namespace albemu::admin
