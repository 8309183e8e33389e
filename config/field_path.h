#pragma once
// A field path (`urlMaps[m].pathMatchers[3].pathRules[2].service`) made into text only when an
// error needs it: a 1 MB URL map has tens of thousands of rules and paths and almost never an
// error. Each step lives on the caller's stack, below its parent.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace albemu::config {

class FieldPath {
 public:
  /// The first step, written as it is ("urlMaps[m]"). An empty one makes the path relative:
  /// its text starts with '.' (".pathMatchers[3]"), to be appended to another.
  explicit FieldPath(std::string_view text) : text_(text) {}
  /// `parent.field`.
  FieldPath(const FieldPath& parent, std::string_view field) : parent_(&parent), text_(field) {}
  /// `parent.list[index]`.
  FieldPath(const FieldPath& parent, std::string_view list, std::size_t index)
      : parent_(&parent), text_(list), index_(index) {}

  std::string str() const {
    std::string out;
    append_to(out);
    return out;
  }

  void append_to(std::string& out) const {
    if (parent_ != nullptr) {
      parent_->append_to(out);
      out += '.';
    }
    out += text_;
    if (index_) {
      out += '[';
      out += std::to_string(*index_);
      out += ']';
    }
  }

 private:
  const FieldPath* parent_ = nullptr;
  std::string_view text_;
  std::optional<std::size_t> index_;
};

}  // namespace albemu::config
