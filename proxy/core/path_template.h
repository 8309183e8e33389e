#pragma once
// `pathTemplateMatch` and `pathTemplateRewrite`: a template is translated once into an RE2
// regex with one capture group per variable (as Envoy does), and a rewrite into literal and
// variable pieces.

#include <re2/re2.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::core {

/// At most 5 operators (variables plus wildcards) per template, so captures fit on the stack.
inline constexpr size_t kMaxTemplateVariables = 5;

/// Values captured by a template match; views into the matched path.
struct TemplateCaptures {
  std::array<std::string_view, kMaxTemplateVariables> values{};
  size_t count = 0;
};

/// A compiled `pathTemplateMatch` such as `/{country}/{format}/{suffix=**}`.
class PathTemplate {
 public:
  /// Compiles `text`. On failure returns null and sets `error` to a readable reason.
  static std::unique_ptr<PathTemplate> compile(std::string_view text, std::string& error);

  /// True if `path` (no query) matches the whole template; fills `captures` in variable order.
  bool match(std::string_view path, TemplateCaptures& captures) const;

  /// Variable names in capture order.
  const std::vector<std::string>& variables() const { return variables_; }

 private:
  std::vector<std::string> variables_;
  std::unique_ptr<RE2> regex_;
};

/// A compiled `pathTemplateRewrite` such as `/content/{format}/{country}/{suffix}`.
class PathTemplateRewrite {
 public:
  /// Compiles `text` against the variables of `source`. On failure returns null and sets
  /// `error` (unknown variable, no variable at all, bad braces).
  static std::unique_ptr<PathTemplateRewrite> compile(std::string_view text,
                                                      const PathTemplate& source,
                                                      std::string& error);

  /// Appends the rewritten path to `out`, taking variables from `captures` of `source`.
  void apply(const PathTemplate& source, const TemplateCaptures& captures, std::string& out) const;

 private:
  struct Piece {
    std::string literal;   // used when variable is empty
    std::string variable;  // variable name, looked up in the match's template
  };
  std::vector<Piece> pieces_;
};

}  // namespace albemu::core
