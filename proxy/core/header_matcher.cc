#include "proxy/core/header_matcher.h"

#include <charconv>

#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

bool full_match(const RE2& regex, std::string_view value) {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), regex);
}

}  // namespace

std::optional<int64_t> parse_int64_strict(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::unique_ptr<RE2> compile_regex(std::string_view pattern, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) {
    error = "invalid RE2 regular expression: " + regex->error();
    return nullptr;
  }
  return regex;
}

std::unique_ptr<HeaderMatcher> HeaderMatcher::compile(const model::HttpHeaderMatch& match,
                                                      std::string& error) {
  auto compiled = std::unique_ptr<HeaderMatcher>(new HeaderMatcher());
  for (char c : match.header_name) compiled->name_ += ascii_lower(c);
  if (compiled->name_ == ":authority" || compiled->name_ == "host") {
    compiled->source_ = Source::kAuthority;
  } else if (compiled->name_ == ":method") {
    compiled->source_ = Source::kMethod;
  } else if (compiled->name_ == "port") {
    compiled->source_ = Source::kPort;
  } else if (compiled->name_ == ":scheme") {
    compiled->source_ = Source::kScheme;
  } else if (compiled->name_ == ":path") {
    compiled->source_ = Source::kPath;
  }
  compiled->invert_ = match.invert_match;
  if (match.exact_match) {
    compiled->kind_ = Kind::kExact;
    compiled->text_ = *match.exact_match;
  } else if (match.prefix_match) {
    compiled->kind_ = Kind::kPrefix;
    compiled->text_ = *match.prefix_match;
  } else if (match.suffix_match) {
    compiled->kind_ = Kind::kSuffix;
    compiled->text_ = *match.suffix_match;
  } else if (match.regex_match) {
    compiled->kind_ = Kind::kRegex;
    compiled->regex_ = compile_regex(*match.regex_match, error);
    if (!compiled->regex_) return nullptr;
  } else if (match.range_match) {
    compiled->kind_ = Kind::kRange;
    compiled->range_start_ = match.range_match->range_start;
    compiled->range_end_ = match.range_match->range_end;
  } else {
    compiled->kind_ = Kind::kPresent;
    compiled->present_ = match.present_match.value_or(true);
  }
  return compiled;
}

bool HeaderMatcher::matches_value(std::string_view value) const {
  switch (kind_) {
    case Kind::kExact:
      return value == text_;
    case Kind::kPrefix:
      return value.starts_with(text_);
    case Kind::kSuffix:
      return value.ends_with(text_);
    case Kind::kRegex:
      return full_match(*regex_, value);
    case Kind::kRange: {
      const std::optional<int64_t> number = parse_int64_strict(value);
      return number && *number >= range_start_ && *number < range_end_;
    }
    case Kind::kPresent:
      return present_;
  }
  return false;
}

bool HeaderMatcher::matches(const MatchInput& input) const {
  const RouteRequest& request = *input.request;
  std::optional<std::string_view> value;
  std::string joined;  // only used when the header appears more than once
  switch (source_) {
    case Source::kAuthority:
      value = request.host;
      break;
    case Source::kMethod:
      value = request.method;
      break;
    case Source::kPort:
      value = input.port;
      break;
    case Source::kScheme:
      value = request.scheme;
      break;
    case Source::kPath:
      value = request.target;
      break;
    case Source::kHeader:
      // Repeated headers are matched as one comma-joined value, as Envoy does.
      for (const HeaderView& header : request.headers) {
        if (!iequals_ascii(header.name, name_)) continue;
        if (!value) {
          value = header.value;
        } else {
          if (joined.empty()) joined.assign(*value);
          joined += ',';
          joined += header.value;
          value = joined;
        }
      }
      break;
  }
  if (!value) {
    // An absent header matches only an inverted predicate or `presentMatch: false`.
    const bool absent_matches = kind_ == Kind::kPresent && !present_;
    return absent_matches != invert_;
  }
  return matches_value(*value) != invert_;
}

std::unique_ptr<QueryParameterMatcher> QueryParameterMatcher::compile(
    const model::HttpQueryParameterMatch& match, std::string& error) {
  auto compiled = std::unique_ptr<QueryParameterMatcher>(new QueryParameterMatcher());
  compiled->name_ = match.name;
  if (match.exact_match) {
    compiled->kind_ = Kind::kExact;
    compiled->text_ = *match.exact_match;
  } else if (match.regex_match) {
    compiled->kind_ = Kind::kRegex;
    compiled->regex_ = compile_regex(*match.regex_match, error);
    if (!compiled->regex_) return nullptr;
  } else {
    compiled->kind_ = Kind::kPresent;
    compiled->present_ = match.present_match.value_or(true);
  }
  return compiled;
}

bool QueryParameterMatcher::matches(const MatchInput& input) const {
  std::string_view query = input.query;
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t equals = pair.find('=');
    const std::string_view raw_name = pair.substr(0, equals);
    const bool name_matches = raw_name.find('%') == std::string_view::npos
                                  ? raw_name == name_
                                  : percent_decode(raw_name) == name_;
    if (!pair.empty() && name_matches) {
      const std::string_view raw_value =
          equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
      switch (kind_) {
        case Kind::kPresent:
          return present_;
        case Kind::kExact:
          return percent_decode(raw_value) == text_;
        case Kind::kRegex:
          return full_match(*regex_, percent_decode(raw_value));
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return kind_ == Kind::kPresent && !present_;
}

}  // namespace albemu::core
