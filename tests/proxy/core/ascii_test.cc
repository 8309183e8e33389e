#include "proxy/core/ascii.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

TEST(PercentDecode, DecodesEscapesAndKeepsWhatIsNone) {
  EXPECT_EQ(percent_decode("a%20b%2Fc%41"), "a b/cA");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");  // not escapes: kept as written
  EXPECT_EQ(percent_decode("100%"), "100%");
}

TEST(PercentDecode, PlusIsLiteralInUrlsAndASpaceInForms) {
  EXPECT_EQ(percent_decode("a+b%2B"), "a+b+");
  EXPECT_EQ(percent_decode("a+b%2B", PlusSign::kSpace), "a b+");
}

}  // namespace
}  // namespace albemu::core
