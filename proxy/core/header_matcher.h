#pragma once
// `headerMatches[]` and `queryParameterMatches[]` of a route rule's matchRule, compiled once.

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/model/resources.h"
#include "proxy/core/ascii.h"
#include "proxy/core/route_request.h"

namespace albemu::core {

/// What the predicates of one request read, split once per route() call.
struct MatchInput {
  const RouteRequest* request = nullptr;
  std::string_view path;   // target up to '?' or '#'
  std::string_view query;  // after '?', up to '#'; empty if none
  std::string_view port;   // from the Host header, else the listener port, as digits
};

/// One `HttpHeaderMatch`. `:authority` (and `host`) read the Host, `:method` the method,
/// `PORT` the port of the Host header (or the listener's).
class HeaderMatcher {
 public:
  /// Compiles `match`; on failure returns null and sets `error`.
  static std::unique_ptr<HeaderMatcher> compile(const model::HttpHeaderMatch& match,
                                                std::string& error);
  bool matches(const MatchInput& input) const;

 private:
  enum class Source { kHeader, kAuthority, kMethod, kPort, kScheme, kPath };
  enum class Kind { kExact, kPrefix, kSuffix, kRegex, kPresent, kRange };

  bool matches_value(std::string_view value) const;

  std::string name_;  // lower-cased
  Source source_ = Source::kHeader;
  Kind kind_ = Kind::kPresent;
  std::string text_;
  std::unique_ptr<RE2> regex_;
  bool present_ = true;
  int64_t range_start_ = 0;
  int64_t range_end_ = 0;
  bool invert_ = false;
};

/// One `HttpQueryParameterMatch`. Names and values are percent-decoded; the first occurrence
/// of a parameter is the one matched; a missing parameter never matches.
class QueryParameterMatcher {
 public:
  static std::unique_ptr<QueryParameterMatcher> compile(const model::HttpQueryParameterMatch& match,
                                                        std::string& error);
  bool matches(const MatchInput& input) const;

 private:
  enum class Kind { kExact, kRegex, kPresent };
  std::string name_;
  Kind kind_ = Kind::kPresent;
  std::string text_;
  std::unique_ptr<RE2> regex_;
  bool present_ = true;
};

/// Parses a whole decimal int64 ("-3" yes; "0.25", "-3x", "" and overflow no).
std::optional<int64_t> parse_int64_strict(std::string_view text);

/// Compiles an RE2 regex for full matching; on failure returns null and sets `error`.
std::unique_ptr<RE2> compile_regex(std::string_view pattern, std::string& error);

}  // namespace albemu::core
