// Boxed<T> behaves as std::optional<T> does (empty, set, copied deeply, moved, reset) in the
// size of one pointer.

#include "config/model/boxed.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace albemu::model {
namespace {

TEST(Boxed, IsOnePointerAndStartsEmpty) {
  static_assert(sizeof(Boxed<std::string>) == sizeof(void*));
  const Boxed<std::string> empty;
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.has_value());
  EXPECT_THROW(static_cast<void>(empty.value()), std::bad_optional_access);
}

TEST(Boxed, CopiesDeeply) {
  Boxed<std::string> original = std::string("route action");
  Boxed<std::string> copy = original;
  ASSERT_TRUE(copy);
  EXPECT_NE(&*copy, &*original);
  copy->append(" changed");
  EXPECT_EQ(*original, "route action");
  EXPECT_EQ(*copy, "route action changed");
  original = copy;
  EXPECT_EQ(*original, "route action changed");
  EXPECT_NE(&*copy, &*original);
  const Boxed<std::string> empty;
  original = empty;
  EXPECT_FALSE(original);
}

TEST(Boxed, MovesTheValueAndResets) {
  Boxed<std::string> first = std::string("x");
  const std::string* value = &*first;
  Boxed<std::string> second = std::move(first);
  EXPECT_EQ(&*second, value);
  second = std::nullopt;
  EXPECT_FALSE(second);
  EXPECT_EQ(second.emplace(3, 'a'), "aaa");
  second.reset();
  EXPECT_FALSE(second);
}

}  // namespace
}  // namespace albemu::model
