#pragma once
// GCP's syntax rules for single field values (spec sections 1 and 9). Each check returns an
// empty string when the value is valid, else the message to report at the field's path.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::config {

/// RFC1035 resource name: `[a-z]([-a-z0-9]*[a-z0-9])?`, 1-63 characters.
bool is_valid_resource_name(std::string_view name);
std::string check_resource_name(std::string_view name);

/// A `hostRules[].hosts` entry: hostname, optional `:port`, `*` only first and followed by
/// `-` or `.` (or alone).
std::string check_host_pattern(std::string_view host);

/// A `pathRules[].paths` entry: starts with `/`, `*` only at the end right after `/`, no `?`/`#`.
std::string check_path_rule_path(std::string_view path);

/// A `pathTemplateMatch`: `/` segments of literals, `*`, `**`, `{var}`, `{var=*}`, `{var=**}`;
/// at most 5 operators; `**` last. Fills `variables` with the captured names.
std::string check_path_template(std::string_view path_template,
                                std::vector<std::string>* variables);

/// A `pathTemplateRewrite`: literals and `{var}` where every var is in `captured`.
std::string check_path_template_rewrite(std::string_view rewrite,
                                        const std::vector<std::string>& captured);

/// A header name in a header action (add or remove).
std::string check_custom_header_name(std::string_view name);

/// A header value is a small template. The next token at or after `from`, `open`..`close`
/// (inclusive) being its extent:
/// - a variable: `{`, one or more letters, digits or underscores, `}`;
/// - an escape: `{{` or `}}`, one literal brace.
/// Every other brace is literal text (a JSON value keeps its single braces). The loader's check,
/// the compiler and the data plane's expansion all read values through this, so they agree on
/// what is a variable. Empty optional: no more tokens.
struct HeaderValueToken {
  std::size_t open = 0;
  std::size_t close = 0;
  bool escape = false;  // `{{` or `}}`: value[open] is the brace it stands for

  std::string_view variable(std::string_view value) const {
    return escape ? std::string_view() : value.substr(open + 1, close - open - 1);
  }
};
std::optional<HeaderValueToken> next_header_value_token(std::string_view value, std::size_t from);

/// Whether a header value holds a `{variable}` to expand per request.
bool has_header_variable(std::string_view value);

/// Leading and trailing spaces and tabs removed.
std::string_view trim_header_value(std::string_view value);

/// What a header value is sent as: escapes resolved, each variable replaced by
/// `lookup(name)` (a string_view), leading and trailing whitespace removed (GCP trims header
/// values; HTTP/2 peers refuse untrimmed ones). Appends to `out`.
template <class Lookup>
void expand_header_value(std::string_view value, Lookup&& lookup, std::string& out) {
  const std::size_t start = out.size();
  std::size_t position = 0;
  while (const auto token = next_header_value_token(value, position)) {
    out += value.substr(position, token->open - position);
    if (token->escape) {
      out += value[token->open];
    } else {
      out += lookup(token->variable(value));
    }
    position = token->close + 1;
  }
  out += value.substr(position);
  const std::size_t first = out.find_first_not_of(" \t", start);
  if (first == std::string::npos) {
    out.resize(start);
    return;
  }
  out.erase(out.find_last_not_of(" \t") + 1);
  out.erase(start, first - start);
}

/// A header value is not blank, and its `{variable}` tokens are ones albemu knows (spec 1.7).
std::string check_header_value(std::string_view value);

/// The variables a custom header value may hold, without braces.
const std::vector<std::string_view>& header_value_variables();

/// Compiles the pattern with RE2; returns RE2's error text when it does not compile.
std::string check_regex(std::string_view pattern);

/// An IPv4/IPv6 address or CIDR range (`10.0.0.0/24`, `::1/128`, `10.1.2.3`).
std::string check_ip_range(std::string_view range);

/// RFC 7230 token (header field names).
bool is_http_token(std::string_view text);

/// Lower-cases ASCII.
std::string ascii_lower(std::string_view text);

}  // namespace albemu::config
