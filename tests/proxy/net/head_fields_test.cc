#include "proxy/net/head_fields.h"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/proxy/net/message_head_support.h"

namespace albemu::net {
namespace {
namespace http = boost::beast::http;
using head_test::lines;

// HeadFields follows Beast's fields: the same edits give the same fields in the same order.
TEST(HeadFields, SameEditsAsBeastsFieldsGiveTheSameResult) {
  const std::vector<std::string> names = {"Host", "Via", "X-A", "x-a", "Accept", "X-Long-Name"};
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    http::fields beast;
    HeadFields ours;
    for (int step = 0; step < 30; ++step) {
      const std::string& name = names[rng() % names.size()];
      // Sometimes padded: both must store it without the surrounding blanks.
      const std::string value = std::string(rng() % 3 == 0 ? " \t" : "") + "v" +
                                std::to_string(rng() % 100) + (rng() % 3 == 0 ? " " : "");
      const auto known = http::string_to_field(name);
      switch (rng() % 6) {
        case 0:
          beast.insert(name, value);
          ours.insert(name, value);
          break;
        case 1:
          beast.set(name, value);
          ours.set(name, value);
          break;
        case 2:
          EXPECT_EQ(beast.erase(name), ours.erase(name));
          break;
        case 3:
          if (known != http::field::unknown) {
            beast.set(known, value);
            ours.set(known, value);
          }
          break;
        case 4:
          if (known != http::field::unknown) {
            beast.insert(known, value);
            ours.insert(known, value);
          }
          break;
        case 5:
          // A value taken from the fields themselves, as header rules do.
          if (const auto it = ours.find(name); it != ours.end()) {
            const std::string copy(it->value());
            beast.set("X-Copy", copy);
            ours.set("X-Copy", it->value());
          }
          break;
      }
      ASSERT_EQ(lines(ours), lines(beast)) << "round " << round << " step " << step;
      ASSERT_EQ(ours.count(name), beast.count(name));
    }
  }
}

TEST(HeadFields, EraseWhileIteratingAndFind) {
  HeadFields fields;
  for (const char* name : {"A", "B", "A", "C"}) fields.insert(name, name);
  for (auto it = fields.begin(); it != fields.end();) {
    it = it->name_string() == "A" ? fields.erase(it) : std::next(it);
  }
  EXPECT_EQ(lines(fields), "B: B\nC: C\n");
  EXPECT_EQ(fields.find("a"), fields.end());
  EXPECT_EQ(fields.find("c")->value(), "C");
  EXPECT_EQ(fields.size(), 2u);
}

TEST(HeadFields, MovedFromFieldsAreEmptyAndUsable) {
  HeadFields fields;
  fields.insert("X-A", "1");
  HeadFields moved(std::move(fields));
  EXPECT_EQ(lines(moved), "X-A: 1\n");
  EXPECT_EQ(fields.size(), 0u);  // NOLINT(bugprone-use-after-move): what is being tested
  fields.insert("X-B", "2");
  EXPECT_EQ(lines(fields), "X-B: 2\n");
  HeadFields assigned;
  assigned = std::move(moved);
  EXPECT_EQ(lines(assigned), "X-A: 1\n");
}

// Values copied from the fields themselves into fields whose new names must be stored, which
// grows the byte buffer now and then (it moves while the copied view still points into it):
// every copy must keep its bytes. Under ASan a view read after the move is a use-after-free.
TEST(HeadFields, ValuesTakenFromTheFieldsSurviveTheBufferMoving) {
  HeadFields fields;
  const std::string value(300, 'v');
  fields.insert("X-Original", value);
  for (int i = 0; i < 40; ++i) {
    const std::string name = "X-Copy-" + std::to_string(i) + "-" + std::string(100, 'n');
    const std::string_view copied = fields.find("X-Original")->value();
    switch (i % 3) {
      case 0:
        fields.insert(name, copied);
        break;
      case 1:
        fields.insert(http::field::via, copied);
        break;
      case 2:
        fields.set(std::string_view(name), copied);
        break;
    }
  }
  for (const auto& field : fields) EXPECT_EQ(field.value(), value) << field.name_string();
  EXPECT_EQ(fields.size(), 41u);
  EXPECT_EQ(fields.count(http::field::via), 13u);
  EXPECT_GT(fields.stored_bytes(), 512u * 4);  // the buffer grew more than once
}

}  // namespace
}  // namespace albemu::net
