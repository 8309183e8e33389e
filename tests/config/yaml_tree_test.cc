// The YAML tree the loader reads: what is null, aliases, documents, syntax errors, and the
// one copy the loader makes (with_scalar_field).

#include "config/load/yaml_tree.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace albemu::config {
namespace {

std::vector<YamlRef> documents(std::string_view text) {
  auto parsed = parse_yaml(text);
  if (const auto* error = std::get_if<YamlSyntaxError>(&parsed)) {
    ADD_FAILURE() << "line " << error->line << ", column " << error->column << ": "
                  << error->message;
    return {};
  }
  return std::get<std::vector<YamlRef>>(parsed);
}

YamlRef only_document(std::string_view text) {
  auto roots = documents(text);
  EXPECT_EQ(roots.size(), 1u) << text;
  return roots.empty() ? YamlRef() : roots.front();
}

YamlSyntaxError syntax_error(std::string_view text) {
  auto parsed = parse_yaml(text);
  EXPECT_TRUE(std::holds_alternative<YamlSyntaxError>(parsed)) << text;
  const auto* error = std::get_if<YamlSyntaxError>(&parsed);
  return error == nullptr ? YamlSyntaxError{} : *error;
}

TEST(YamlTree, PlainNullSpellingsAndMissingValuesAreNull) {
  const YamlRef root = only_document("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL\n");
  ASSERT_TRUE(root && root->is_map());
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    ASSERT_NE(root->find(key), nullptr) << key;
    EXPECT_TRUE(root->find(key)->is_null()) << key;
  }
  // Not one of the core schema's spellings: a string.
  ASSERT_TRUE(root->find("f")->is_scalar());
  EXPECT_EQ(root->find("f")->scalar(), "nULL");
}

TEST(YamlTree, QuotedOrTaggedNullIsAString) {
  const YamlRef root = only_document("a: \"null\"\nb: '~'\nc: !!str null\nd: !!null x\n");
  ASSERT_TRUE(root && root->is_map());
  EXPECT_TRUE(root->find("a")->is_scalar());
  EXPECT_EQ(root->find("a")->scalar(), "null");
  EXPECT_EQ(root->find("b")->scalar(), "~");
  EXPECT_EQ(root->find("c")->scalar(), "null");
  EXPECT_TRUE(root->find("d")->is_null());
}

TEST(YamlTree, ScalarsKeepTheirTextAndCollectionsTheirOrder) {
  const YamlRef root =
      only_document("name: 'it''s'\nlist: [b, a, \"c d\"]\nblock: |\n  two\n  lines\nz: 1\ny: 2\n");
  ASSERT_TRUE(root && root->is_map());
  EXPECT_EQ(root->find("name")->scalar(), "it's");
  const YamlNode* list = root->find("list");
  ASSERT_TRUE(list->is_sequence());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ(list->items()[0]->scalar(), "b");
  EXPECT_EQ(list->items()[2]->scalar(), "c d");
  EXPECT_EQ(root->find("block")->scalar(), "two\nlines\n");
  ASSERT_EQ(root->pairs().size(), 5u);
  EXPECT_EQ(root->pairs()[3].key->scalar(), "z");
  EXPECT_EQ(root->pairs()[4].key->scalar(), "y");
  EXPECT_EQ(root->find("absent"), nullptr);
  EXPECT_EQ(list->find("b"), nullptr);  // not a mapping
}

TEST(YamlTree, DuplicateKeysAreKeptAndFindTakesTheFirst) {
  const YamlRef root = only_document("a: 1\na: 2\n");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->pairs().size(), 2u);
  EXPECT_EQ(root->find("a")->scalar(), "1");
}

TEST(YamlTree, NonScalarKeysAreNeverFound) {
  const YamlRef root = only_document("? [a]\n: b\n");
  ASSERT_TRUE(root && root->is_map());
  ASSERT_EQ(root->pairs().size(), 1u);
  EXPECT_TRUE(root->pairs()[0].key->is_sequence());
  EXPECT_EQ(root->find("a"), nullptr);
}

TEST(YamlTree, AnAliasIsTheAnchoredNode) {
  const YamlRef root = only_document("base: &b {url: 'http://x'}\nuse: *b\n");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->find("use"), root->find("base"));
  EXPECT_EQ(root->find("use")->find("url")->scalar(), "http://x");
}

TEST(YamlTree, AnUnknownAliasIsASyntaxErrorAtIt) {
  const YamlSyntaxError error = syntax_error("a: 1\nb: *nowhere\n");
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.column, 4u);
  EXPECT_NE(error.message.find("nowhere"), std::string::npos) << error.message;
}

TEST(YamlTree, DocumentsComeInOrderAndAnEmptyOneIsNull) {
  const auto roots = documents("a: 1\n---\n---\n- x\n");
  ASSERT_EQ(roots.size(), 3u);
  EXPECT_TRUE(roots[0]->is_map());
  EXPECT_TRUE(roots[1]->is_null());
  EXPECT_TRUE(roots[2]->is_sequence());
  EXPECT_TRUE(documents("").empty());
  EXPECT_TRUE(documents("# only a comment\n").empty());
}

TEST(YamlTree, SyntaxErrorsGiveLineAndColumn) {
  const YamlSyntaxError unclosed = syntax_error("a: 1\nb: [x,\n");
  EXPECT_GE(unclosed.line, 2u);
  EXPECT_FALSE(unclosed.message.empty());
  const YamlSyntaxError tab = syntax_error("a:\n\t- x\n");
  EXPECT_EQ(tab.line, 2u);
  const YamlSyntaxError bad_start = syntax_error(", ...");
  EXPECT_EQ(bad_start.line, 1u);
  EXPECT_EQ(bad_start.column, 1u);
}

// Bytes that are not UTF-8 (a Latin-1 comment, say) are refused where they are.
TEST(YamlTree, BytesThatAreNotUtf8AreAnErrorAtTheirPlace) {
  const YamlSyntaxError error = syntax_error("a: 1\nb: x\n# caf\x80 noir\n");
  EXPECT_EQ(error.line, 3u);
  EXPECT_EQ(error.column, 6u);
  EXPECT_NE(error.message.find("UTF-8"), std::string::npos) << error.message;
}

// Nothing recurses over the input's depth: a hostile nesting parses (or fails) without
// exhausting the stack.
TEST(YamlTree, DeepNestingNeedsNoRecursion) {
  const std::size_t depth = 100000;
  const std::string text = std::string(depth, '[') + std::string(depth, ']');
  auto parsed = parse_yaml(text);
  if (const auto* error = std::get_if<YamlSyntaxError>(&parsed)) {
    // libyaml may cap the nesting itself: then it says so.
    EXPECT_FALSE(error->message.empty());
    return;
  }
  const auto& roots = std::get<std::vector<YamlRef>>(parsed);
  ASSERT_EQ(roots.size(), 1u);
  const YamlNode* node = roots[0].get();
  std::size_t levels = 0;
  while (node->is_sequence() && node->size() == 1) {
    node = node->items()[0];
    ++levels;
  }
  EXPECT_EQ(levels, depth - 1);
}

TEST(YamlTree, WithScalarFieldReplacesTheFirstPairAndLeavesTheOriginal) {
  const YamlRef root = only_document("name: projects/p/x\nname: second\nother: [1]\n");
  ASSERT_TRUE(root);
  const YamlRef copy = with_scalar_field(root, "name", "x");
  EXPECT_EQ(copy->find("name")->scalar(), "x");
  EXPECT_EQ(copy->pairs().size(), 3u);
  EXPECT_EQ(copy->pairs()[1].value->scalar(), "second");
  EXPECT_EQ(copy->find("other"), root->find("other"));  // shared, not copied
  EXPECT_EQ(root->find("name")->scalar(), "projects/p/x");
  const YamlRef added = with_scalar_field(root, "region", "r");
  EXPECT_EQ(added->pairs().size(), 4u);
  EXPECT_EQ(added->find("region")->scalar(), "r");
}

// A node keeps its text's nodes alive after the documents are gone.
TEST(YamlTree, ANodeKeepsItsDocumentAlive) {
  YamlRef inner;
  {
    const YamlRef root = only_document("outer: {inner: value}\n");
    ASSERT_TRUE(root);
    inner = YamlRef(root, root->find("outer")->find("inner"));
  }
  EXPECT_EQ(inner->scalar(), "value");
}

}  // namespace
}  // namespace albemu::config
