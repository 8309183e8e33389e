#include "proxy/core/path_template.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

std::unique_ptr<PathTemplate> compile(std::string_view text) {
  std::string error;
  auto compiled = PathTemplate::compile(text, error);
  EXPECT_TRUE(compiled) << text << ": " << error;
  return compiled;
}

TEST(PathTemplateTest, VariablesCaptureInOrder) {
  auto path_template = compile("/{country}/{format}/{suffix=**}");
  ASSERT_TRUE(path_template);
  TemplateCaptures captures;
  ASSERT_TRUE(path_template->match("/us/jpeg/a/b.jpg", captures));
  ASSERT_EQ(captures.count, 3u);
  EXPECT_EQ(captures.values[0], "us");
  EXPECT_EQ(captures.values[1], "jpeg");
  EXPECT_EQ(captures.values[2], "a/b.jpg");
}

TEST(PathTemplateTest, StarIsExactlyOneNonEmptySegment) {
  auto path_template = compile("/a/*/c");
  ASSERT_TRUE(path_template);
  TemplateCaptures captures;
  EXPECT_TRUE(path_template->match("/a/b/c", captures));
  EXPECT_FALSE(path_template->match("/a/b/x/c", captures));
  EXPECT_FALSE(path_template->match("/a//c", captures));
  EXPECT_EQ(captures.count, 0u);
}

TEST(PathTemplateTest, DoubleStarIsZeroOrMoreSegments) {
  auto path_template = compile("/static/**");
  ASSERT_TRUE(path_template);
  TemplateCaptures captures;
  EXPECT_TRUE(path_template->match("/static/", captures));
  EXPECT_TRUE(path_template->match("/static/a/b/c", captures));
  EXPECT_FALSE(path_template->match("/static", captures));
  EXPECT_FALSE(path_template->match("/other/a", captures));
}

TEST(PathTemplateTest, VariablePatternMayCarryALiteralSuffix) {
  auto path_template = compile("/videos/{id}/{segment=**.ts}");
  ASSERT_TRUE(path_template);
  TemplateCaptures captures;
  ASSERT_TRUE(path_template->match("/videos/42/hd/0001.ts", captures));
  EXPECT_EQ(captures.values[1], "hd/0001.ts");
  EXPECT_FALSE(path_template->match("/videos/42/hd/0001.mp4", captures));
}

TEST(PathTemplateTest, LiteralsAreNotRegexSyntax) {
  auto path_template = compile("/a.b/{x}");
  ASSERT_TRUE(path_template);
  TemplateCaptures captures;
  EXPECT_TRUE(path_template->match("/a.b/1", captures));
  EXPECT_FALSE(path_template->match("/aXb/1", captures));
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (std::string_view bad : {"", "x/{a}", "/{a", "/a}", "/{a}/{a}", "/{}", "/{a=}", "/**/*",
                               "/**/{b}", "/*/*/*/*/*/*", "/a b", "/a?b"}) {
    std::string error;
    EXPECT_FALSE(PathTemplate::compile(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(PathTemplateRewriteTest, ReordersAndDropsVariables) {
  auto path_template = compile("/{country}/{format}/{suffix=**}");
  ASSERT_TRUE(path_template);
  std::string error;
  auto rewrite = PathTemplateRewrite::compile("/content/{format}/{suffix}", *path_template, error);
  ASSERT_TRUE(rewrite) << error;
  TemplateCaptures captures;
  ASSERT_TRUE(path_template->match("/us/png/x/y.png", captures));
  std::string out;
  rewrite->apply(*path_template, captures, out);
  EXPECT_EQ(out, "/content/png/x/y.png");
}

TEST(PathTemplateRewriteTest, RejectsUnknownOrMissingVariablesAndBareWildcards) {
  auto path_template = compile("/{a}/{b=**}");
  ASSERT_TRUE(path_template);
  for (std::string_view bad : {"/{c}", "/static", "/{a}/*", "/{a}/**", "{a}", "/{a"}) {
    std::string error;
    EXPECT_FALSE(PathTemplateRewrite::compile(bad, *path_template, error)) << bad;
  }
}

}  // namespace
}  // namespace albemu::core
