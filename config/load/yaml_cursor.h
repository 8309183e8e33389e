#pragma once
// Walking a YAML tree (yaml_tree.h) while keeping the field path of every node, so each parser
// reads like the resource it parses and every error names `urlMaps[lb-map].hostRules[0].hosts[1]`.
// A path is a chain of steps kept in memory its file's LoadContext owns, written out only when a
// message needs it: a 1 MB URL map walks about a hundred thousand cursors, and almost none of
// them names an error.

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/load/yaml_tree.h"
#include "config/model/resources.h"

namespace albemu::config {

/// One step of a field path: a field's key, a list item's index, or a whole path given by name
/// (`urlMaps[lb-map]`, which has no parent).
struct PathStep {
  enum class Kind : uint8_t { kName, kField, kIndex };
  const PathStep* parent = nullptr;
  std::string_view text;  // kName, kField; in the arena of the file's LoadContext
  std::size_t index = 0;  // kIndex
  Kind kind = Kind::kName;

  /// Writes the path this step ends (`a.b[2].c`) onto `out`.
  void append_to(std::string& out) const;
};

/// What every cursor of one file shares: the file name (for messages), the directory that
/// relative `certificateFile` paths resolve against, the error list being filled, and the
/// memory its cursors' path steps and made-up nodes live in. It outlives the cursors.
struct LoadContext {
  std::string file;
  std::string base_dir;
  ConfigErrors* errors = nullptr;
  /// Owns the nodes of the file's documents (any of its roots).
  YamlRef document;

  /// A step below `parent` (null: none), its text copied into the arena.
  const PathStep* step(const PathStep* parent, PathStep::Kind kind, std::string_view text,
                       std::size_t index = 0) const;
  /// Keeps a node made during the load (with_scalar_field) for as long as the cursors.
  const YamlNode* keep(YamlRef node) const;

 private:
  mutable std::pmr::monotonic_buffer_resource arena_;
  mutable std::vector<YamlRef> kept_;
};

/// A YAML node together with its field path. Cheap to copy (three pointers); conversions
/// record an error at the node's path and return nullopt when the value has the wrong type or
/// range. The node belongs to the context's documents, which outlive the cursor.
class YamlCursor {
 public:
  /// `node` null: an absent field. `path` may be empty (a document's root).
  YamlCursor(const YamlNode* node, std::string_view path, const LoadContext* context);

  /// The node, or a null node when the field is absent.
  const YamlNode& node() const;
  /// The field path, written out (for messages).
  std::string path() const;
  const LoadContext& context() const { return *context_; }

  /// Present and not `null`.
  bool present() const;
  /// The key was written (its value may be `null`).
  bool exists() const { return node_ != nullptr; }

  /// The cursor of `key` (which may be absent) below this mapping node.
  YamlCursor field(std::string_view key) const;
  /// The same node under another path (e.g. `urlMaps[lb-map]` for a list item).
  YamlCursor renamed(std::string_view path) const;
  /// The same path at a copy of this mapping in which `key` is the scalar `value`
  /// (with_scalar_field); the copy lives as long as the context.
  YamlCursor with_scalar_field(std::string_view key, std::string value) const;

  /// Records an error at this node's path.
  void error(std::string message) const;

  std::optional<std::string> as_string() const;
  std::optional<bool> as_bool() const;
  /// int64 written as a number or as a quoted string (gcloud exports int64 as strings).
  std::optional<int64_t> as_int64(int64_t min, int64_t max) const;
  std::optional<double> as_double(double min, double max) const;
  /// protobuf Duration `{seconds, nanos}`.
  std::optional<model::Duration> as_duration() const;
  /// Parses the text as a resource reference; records an error if it is not one.
  std::optional<model::ResourceRef> as_reference() const;
  /// A list of strings (a null or absent node is an empty list).
  std::vector<std::string> as_string_list() const;
  /// The items of a sequence, each with `path[i]` (a null or absent node is an empty list).
  std::vector<YamlCursor> items() const;

 private:
  YamlCursor(const YamlNode* node, const PathStep* path, const LoadContext* context)
      : node_(node), path_(path), context_(context) {}

  const YamlNode* node_;
  const PathStep* path_;
  const LoadContext* context_;
};

/// Reads the fields of one mapping node. Every field read is remembered; finish() reports the
/// rest as unknown fields, so a typo never silently changes routing.
class FieldReader {
 public:
  /// Records an error if the node is present but not a mapping (the reader then yields nothing).
  explicit FieldReader(YamlCursor object);
  ~FieldReader();
  FieldReader(const FieldReader&) = delete;
  FieldReader& operator=(const FieldReader&) = delete;

  const YamlCursor& cursor() const { return object_; }
  bool valid() const { return valid_; }

  /// Marks `key` as known and returns its cursor (absent keys give a non-present cursor).
  /// The reader keeps the view: `key` must outlive it (the parsers pass literals).
  YamlCursor take(std::string_view key);
  /// Whether `key` is present (not null); does not mark it.
  bool has(std::string_view key) const;

  std::optional<std::string> optional_string(std::string_view key);
  /// The string, or "" when absent.
  std::string string(std::string_view key);
  /// The string; records "is required" when absent or empty.
  std::string required_string(std::string_view key);
  /// The string, which must be one of `allowed` when present.
  std::optional<std::string> optional_enum(std::string_view key,
                                           std::initializer_list<std::string_view> allowed);
  std::optional<bool> optional_bool(std::string_view key);
  bool flag(std::string_view key) { return optional_bool(key).value_or(false); }
  std::optional<int64_t> optional_int64(std::string_view key, int64_t min, int64_t max);
  std::optional<double> optional_double(std::string_view key, double min, double max);
  std::optional<model::Duration> optional_duration(std::string_view key);
  std::optional<model::ResourceRef> optional_reference(std::string_view key);
  model::ResourceRef required_reference(std::string_view key);
  std::vector<std::string> string_list(std::string_view key);
  std::vector<YamlCursor> items(std::string_view key);

  /// Accepts and drops fields albemu does not use (output-only or without effect here).
  void ignore(std::initializer_list<std::string_view> keys);
  void ignore(const std::vector<std::string_view>& keys);
  /// A field albemu refuses (unsupported for INTERNAL_MANAGED or serverless): an error at its
  /// path when present.
  void reject(std::string_view key, std::string_view message);

  /// Reports every field not taken, ignored or rejected as unknown. Called by the destructor
  /// if not called before.
  void finish();

 private:
  YamlCursor object_;
  bool valid_ = false;
  bool finished_ = false;
  // A resource's reader knows a few dozen keys at most; they are literals of the parsers, or
  // texts of the file (which outlive the reader).
  boost::container::small_vector<std::string_view, 16> known_;
};

/// `prefix[name]` when the item has a usable `name`, else `prefix[index]`.
std::string item_path(std::string_view prefix, const YamlNode& item, size_t index);

}  // namespace albemu::config
