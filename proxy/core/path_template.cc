#include "proxy/core/path_template.h"

#include <algorithm>

namespace albemu::core {
namespace {

// Envoy's translation of the operators (pchar of RFC 3986, minus '/' for one segment).
constexpr std::string_view kOneSegment = "[a-zA-Z0-9-._~%!$&'()+,;:@=]+";
constexpr std::string_view kAnySegments = "[a-zA-Z0-9-._~%!$&'()+,;:@=/]*";

bool is_literal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~%!$&'()+,;:@=/").find(c) != std::string_view::npos;
}

bool is_variable_name(std::string_view name) {
  if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Translates wildcards and literals (no braces) to regex text. Tracks whether a `**` was seen
// so that an operator after it can be rejected.
bool translate_pattern(std::string_view text, std::string& regex, size_t& operators,
                       bool& seen_any_segments, std::string& error) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '*') {
      if (seen_any_segments) {
        error = "`**` must be the last operator";
        return false;
      }
      ++operators;
      if (i + 1 < text.size() && text[i + 1] == '*') {
        regex += kAnySegments;
        seen_any_segments = true;
        ++i;
      } else {
        regex += kOneSegment;
      }
    } else if (is_literal_char(c)) {
      const std::string quoted = RE2::QuoteMeta(std::string_view(&text[i], 1));
      regex += quoted;
    } else {
      error = std::string("character '") + c + "' is not allowed in a path template";
      return false;
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<PathTemplate> PathTemplate::compile(std::string_view text, std::string& error) {
  if (text.empty() || text.front() != '/') {
    error = "a path template must begin with '/'";
    return nullptr;
  }
  auto compiled = std::unique_ptr<PathTemplate>(new PathTemplate());
  std::string regex;
  size_t operators = 0;
  bool seen_any_segments = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find('{', pos);
    const size_t close_stray = text.find('}', pos);
    if (close_stray != std::string_view::npos &&
        (open == std::string_view::npos || close_stray < open)) {
      error = "unmatched '}' in path template";
      return nullptr;
    }
    const std::string_view literal_part =
        text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
    if (!translate_pattern(literal_part, regex, operators, seen_any_segments, error))
      return nullptr;
    if (open == std::string_view::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      error = "unmatched '{' in path template";
      return nullptr;
    }
    const std::string_view body = text.substr(open + 1, close - open - 1);
    const size_t equals = body.find('=');
    const std::string_view name = body.substr(0, equals);
    if (!is_variable_name(name)) {
      error = "bad variable name '" + std::string(name) + "' in path template";
      return nullptr;
    }
    if (std::find(compiled->variables_.begin(), compiled->variables_.end(), name) !=
        compiled->variables_.end()) {
      error = "variable '" + std::string(name) + "' appears twice in path template";
      return nullptr;
    }
    if (seen_any_segments) {
      error = "`**` must be the last operator";
      return nullptr;
    }
    compiled->variables_.emplace_back(name);
    regex += '(';
    if (equals == std::string_view::npos) {
      regex += kOneSegment;
    } else {
      const std::string_view pattern = body.substr(equals + 1);
      if (pattern.empty()) {
        error = "empty pattern for variable '" + std::string(name) + "'";
        return nullptr;
      }
      size_t inner_operators = 0;
      if (!translate_pattern(pattern, regex, inner_operators, seen_any_segments, error)) {
        return nullptr;
      }
    }
    regex += ')';
    ++operators;
    pos = close + 1;
  }
  if (operators > kMaxTemplateVariables) {
    error = "a path template may hold at most 5 operators (variables plus wildcards)";
    return nullptr;
  }
  RE2::Options options;
  options.set_log_errors(false);
  compiled->regex_ = std::make_unique<RE2>(regex, options);
  if (!compiled->regex_->ok()) {
    error = "path template does not compile: " + compiled->regex_->error();
    return nullptr;
  }
  return compiled;
}

bool PathTemplate::match(std::string_view path, TemplateCaptures& captures) const {
  std::array<re2::StringPiece, kMaxTemplateVariables + 1> groups;
  const int group_count = static_cast<int>(variables_.size()) + 1;
  if (!regex_->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(), RE2::ANCHOR_BOTH,
                     groups.data(), group_count)) {
    return false;
  }
  captures.count = variables_.size();
  for (size_t i = 0; i < variables_.size(); ++i) {
    captures.values[i] = std::string_view(groups[i + 1].data(), groups[i + 1].size());
  }
  return true;
}

std::unique_ptr<PathTemplateRewrite> PathTemplateRewrite::compile(std::string_view text,
                                                                  const PathTemplate& source,
                                                                  std::string& error) {
  if (text.empty() || text.front() != '/') {
    error = "pathTemplateRewrite must begin with '/'";
    return nullptr;
  }
  auto compiled = std::unique_ptr<PathTemplateRewrite>(new PathTemplateRewrite());
  size_t pos = 0;
  bool any_variable = false;
  while (pos < text.size()) {
    const size_t open = text.find('{', pos);
    const std::string_view literal =
        text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
    if (literal.find('}') != std::string_view::npos ||
        literal.find('*') != std::string_view::npos) {
      error = "pathTemplateRewrite may only use captured variables, not bare '*' or '**'";
      return nullptr;
    }
    if (!literal.empty()) compiled->pieces_.push_back(Piece{std::string(literal), {}});
    if (open == std::string_view::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      error = "unmatched '{' in pathTemplateRewrite";
      return nullptr;
    }
    const std::string_view name = text.substr(open + 1, close - open - 1);
    const auto& variables = source.variables();
    if (std::find(variables.begin(), variables.end(), name) == variables.end()) {
      error = "pathTemplateRewrite uses variable '" + std::string(name) +
              "' that the pathTemplateMatch does not capture";
      return nullptr;
    }
    compiled->pieces_.push_back(Piece{{}, std::string(name)});
    any_variable = true;
    pos = close + 1;
  }
  if (!any_variable) {
    error = "pathTemplateRewrite must use at least one captured variable";
    return nullptr;
  }
  return compiled;
}

void PathTemplateRewrite::apply(const PathTemplate& source, const TemplateCaptures& captures,
                                std::string& out) const {
  const auto& variables = source.variables();
  for (const Piece& piece : pieces_) {
    if (piece.variable.empty()) {
      out += piece.literal;
      continue;
    }
    for (size_t i = 0; i < variables.size() && i < captures.count; ++i) {
      if (variables[i] == piece.variable) {
        out += captures.values[i];
        break;
      }
    }
  }
}

}  // namespace albemu::core
