#pragma once
// YAML documents as the loader reads them: a tree of nulls, scalars, sequences and mappings,
// parsed by libyaml. Built in one pass over libyaml's events into one arena per text, it costs
// a fraction of a general-purpose node library's tree: a 1 MB URL map loads in a few
// milliseconds of parsing instead of about a hundred. Nodes are immutable once parsed.
//
// What counts as null follows YAML's core schema, as yaml-cpp and Google's tools read it: a
// plain (unquoted) `~`, `null`, `Null`, `NULL` or nothing at all. A quoted "null" is a string.
// Every other scalar is text; the loader converts it (yaml_cursor.h).

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace albemu::config {

class YamlNode {
 public:
  enum class Type { kNull, kScalar, kSequence, kMap };
  struct Pair {
    const YamlNode* key;
    const YamlNode* value;
  };

  explicit YamlNode(Type type) : type_(type) {}
  YamlNode(Type type, std::string scalar) : type_(type), scalar_(std::move(scalar)) {}

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_scalar() const { return type_ == Type::kScalar; }
  bool is_sequence() const { return type_ == Type::kSequence; }
  bool is_map() const { return type_ == Type::kMap; }

  /// A scalar's text ("" for any other node).
  const std::string& scalar() const { return scalar_; }
  /// A sequence's items, in order (empty for any other node).
  std::span<const YamlNode* const> items() const { return items_; }
  /// A mapping's pairs, in order, duplicates included (empty for any other node).
  std::span<const Pair> pairs() const { return pairs_; }
  /// Items of a sequence, pairs of a mapping, 0 otherwise.
  std::size_t size() const { return is_map() ? pairs_.size() : items_.size(); }
  /// The value of the first pair whose key is the scalar `key`; null if none (or not a map).
  const YamlNode* find(std::string_view key) const;

 private:
  friend class YamlBuilder;
  friend std::shared_ptr<const YamlNode> with_scalar_field(
      const std::shared_ptr<const YamlNode>& map, std::string_view key, std::string value);

  Type type_;
  std::string scalar_;
  std::vector<const YamlNode*> items_;
  std::vector<Pair> pairs_;
};

/// A node that keeps the nodes it reaches alive (its text's arena), as a load's context holds
/// its documents.
using YamlRef = std::shared_ptr<const YamlNode>;

struct YamlSyntaxError {
  std::size_t line = 0;    // 1-based
  std::size_t column = 0;  // 1-based
  std::string message;     // libyaml's problem, and its context when it gives one
};

/// Every document of `text`, in order (an empty document is a null node), or the first syntax
/// error. An alias is the node its anchor names (the same node, not a copy).
std::variant<std::vector<YamlRef>, YamlSyntaxError> parse_yaml(std::string_view text);

/// A copy of the mapping `map` in which `key` maps to the scalar `value` (the first such pair
/// replaced, or a pair added at the end); the other nodes are shared, not copied.
YamlRef with_scalar_field(const YamlRef& map, std::string_view key, std::string value);

}  // namespace albemu::config
