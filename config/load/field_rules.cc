#include "config/load/field_rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>

#include "config/ip_address.h"

namespace albemu::config {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_variable_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// RFC 3986 pchar without the template operators.
bool is_literal_path_char(char c) {
  static constexpr std::string_view kAllowed = "-._~!$&'()+,;:=@%";
  return is_alnum(c) || kAllowed.find(c) != std::string_view::npos;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_valid_resource_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() < 'a' || name.front() > 'z') return false;
  if (name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_lower_alnum(c) || c == '-'; });
}

std::string check_resource_name(std::string_view name) {
  if (is_valid_resource_name(name)) return {};
  return "name " + quoted(name) + " must be 1-63 characters matching [a-z]([-a-z0-9]*[a-z0-9])?";
}

std::string check_host_pattern(std::string_view host) {
  std::string invalid = "host " + quoted(host) + " is not a valid host name";
  if (host.empty()) return "host must not be empty";
  std::string_view name = host;
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    int value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return "host " + quoted(host) + " has an invalid port";
    }
    name = host.substr(0, colon);
  }
  if (name == "*") return {};
  if (name.find('*') != std::string_view::npos) {
    if (name.front() != '*' || name.find('*', 1) != std::string_view::npos) {
      return "host " + quoted(host) + ": '*' may only be the first character";
    }
    if (name[1] != '-' && name[1] != '.') {
      return "host " + quoted(host) + ": '*' must be followed by '-' or '.'";
    }
    name.remove_prefix(name[1] == '.' ? 2 : 1);
  }
  if (name.empty() || name.size() > 253) return invalid;
  if (name.back() == '.') name.remove_suffix(1);  // a fully qualified name
  for (std::string_view label : split(name, '.')) {
    if (label.empty() || label.size() > 63) return invalid;
    bool ok = std::all_of(label.begin(), label.end(),
                          [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
    if (!ok) return invalid;
  }
  return {};
}

std::string check_path_rule_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return "path " + quoted(path) + " must start with '/'";
  if (path.size() > 1024) return "path is longer than 1024 characters";
  if (path.find_first_of("?#") != std::string_view::npos) {
    return "path " + quoted(path) + " must not contain '?' or '#'";
  }
  size_t star = path.find('*');
  if (star != std::string_view::npos && (star != path.size() - 1 || path[star - 1] != '/')) {
    return "path " + quoted(path) + ": '*' is only allowed at the end, directly after a '/'";
  }
  return {};
}

std::string check_path_template(std::string_view path_template,
                                std::vector<std::string>* variables) {
  std::vector<std::string> names;
  if (path_template.empty() || path_template.front() != '/') {
    return "path template " + quoted(path_template) + " must start with '/'";
  }
  std::vector<std::string_view> segments = split(path_template.substr(1), '/');
  int operators = 0;
  bool saw_double_star = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view segment = segments[i];
    const bool last = i + 1 == segments.size();
    bool is_operator = false;
    bool is_double_star = false;
    if (segment.empty()) {
      if (!last) return "path template " + quoted(path_template) + " has an empty segment";
      continue;
    }
    if (segment == "*" || segment == "**") {
      is_operator = true;
      is_double_star = segment == "**";
    } else if (segment.front() == '{') {
      if (segment.back() != '}') {
        return "path template " + quoted(path_template) + ": variable " + quoted(segment) +
               " must be a whole segment ending with '}'";
      }
      std::string_view inner = segment.substr(1, segment.size() - 2);
      std::string_view name = inner;
      size_t equals = inner.find('=');
      if (equals != std::string_view::npos) {
        name = inner.substr(0, equals);
        std::string_view pattern = inner.substr(equals + 1);
        if (pattern != "*" && pattern != "**") {
          return "path template " + quoted(path_template) + ": variable " + quoted(segment) +
                 " may only capture '*' or '**'";
        }
        is_double_star = pattern == "**";
      }
      if (!is_variable_name(name)) {
        return "path template " + quoted(path_template) + ": invalid variable name " + quoted(name);
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return "path template " + quoted(path_template) + ": variable " + quoted(name) +
               " is captured twice";
      }
      names.emplace_back(name);
      is_operator = true;
    } else {
      for (char c : segment) {
        if (!is_literal_path_char(c)) {
          return "path template " + quoted(path_template) + ": invalid character " +
                 quoted(std::string_view(&c, 1)) + " in literal segment " + quoted(segment);
        }
      }
    }
    if (is_operator) {
      if (saw_double_star) {
        return "path template " + quoted(path_template) + ": '**' must be the last operator";
      }
      ++operators;
      saw_double_star = is_double_star;
    }
  }
  if (operators > 5) {
    return "path template " + quoted(path_template) + " has " + std::to_string(operators) +
           " operators; at most 5 are allowed";
  }
  if (variables != nullptr) *variables = std::move(names);
  return {};
}

std::string check_path_template_rewrite(std::string_view rewrite,
                                        const std::vector<std::string>& captured) {
  if (rewrite.empty() || rewrite.front() != '/') {
    return "path template rewrite " + quoted(rewrite) + " must start with '/'";
  }
  if (captured.empty()) {
    return "pathTemplateRewrite needs a pathTemplateMatch that captures at least one variable";
  }
  size_t position = 0;
  while (position < rewrite.size()) {
    char c = rewrite[position];
    if (c == '{') {
      size_t close = rewrite.find('}', position);
      if (close == std::string_view::npos) {
        return "path template rewrite " + quoted(rewrite) + " has an unclosed '{'";
      }
      std::string_view name = rewrite.substr(position + 1, close - position - 1);
      if (std::find(captured.begin(), captured.end(), name) == captured.end()) {
        return "path template rewrite " + quoted(rewrite) + " uses variable " + quoted(name) +
               " that the pathTemplateMatch does not capture";
      }
      position = close + 1;
      continue;
    }
    if (c == '*') {
      return "path template rewrite " + quoted(rewrite) +
             ": '*' and '**' cannot be used; capture them as {var=*} or {var=**}";
    }
    if (c != '/' && !is_literal_path_char(c)) {
      return "path template rewrite " + quoted(rewrite) + ": invalid character " +
             quoted(std::string_view(&c, 1));
    }
    ++position;
  }
  return {};
}

std::string check_ip_range(std::string_view range) {
  if (parse_ip_range(range)) return {};
  return "'" + std::string(range) + "' is not an IP address or CIDR range";
}

bool is_http_token(std::string_view text) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return is_alnum(c) || kSpecials.find(c) != std::string_view::npos;
  });
}

std::string check_custom_header_name(std::string_view name) {
  if (!is_http_token(name)) {
    return "header name " + quoted(name) + " is not a valid HTTP header name (RFC 7230 token)";
  }
  const std::string lower = ascii_lower(name);
  static constexpr std::string_view kReserved[] = {
      "host", "authority",  "x-user-ip", "keep-alive", "transfer-encoding",
      "te",   "connection", "trailer",   "upgrade",    "proxy-connection"};
  for (std::string_view reserved : kReserved) {
    if (lower == reserved) return "header " + quoted(name) + " cannot be set or removed";
  }
  static constexpr std::string_view kReservedPrefixes[] = {"x-google", "x-goog-", "x-gfe",
                                                           "x-amz-"};
  for (std::string_view prefix : kReservedPrefixes) {
    if (starts_with(lower, prefix)) {
      return "header " + quoted(name) + " uses the reserved prefix " + quoted(prefix);
    }
  }
  return {};
}

const std::vector<std::string_view>& header_value_variables() {
  static const std::vector<std::string_view> kVariables = {
      "client_cert_present",
      "client_cert_chain_verified",
      "client_cert_error",
      "client_cert_sha256_fingerprint",
      "client_cert_serial_number",
      "client_cert_spiffe_id",
      "client_cert_uri_sans",
      "client_cert_dnsname_sans",
      "client_cert_valid_not_before",
      "client_cert_valid_not_after",
      "client_cert_issuer_dn",
      "client_cert_subject_dn",
      "client_cert_leaf",
      "client_cert_chain",
      "client_rtt_msec",
      "tls_sni_hostname",
      "tls_version",
      "tls_cipher_suite",
      "tls_ja3_fingerprint",
      "tls_ja4_fingerprint",
      "client_ip_address",
  };
  return kVariables;
}

std::optional<HeaderValueToken> next_header_value_token(std::string_view value, std::size_t from) {
  while ((from = value.find_first_of("{}", from)) != std::string_view::npos) {
    const bool doubled = from + 1 < value.size() && value[from + 1] == value[from];
    if (doubled) return HeaderValueToken{from, from + 1, true};
    if (value[from] == '{') {
      std::size_t end = from + 1;
      while (end < value.size() && (is_alnum(value[end]) || value[end] == '_')) ++end;
      if (end > from + 1 && end < value.size() && value[end] == '}') {
        return HeaderValueToken{from, end, false};
      }
    }
    ++from;  // a literal brace
  }
  return std::nullopt;
}

bool has_header_variable(std::string_view value) {
  std::size_t position = 0;
  while (const auto token = next_header_value_token(value, position)) {
    if (!token->escape) return true;
    position = token->close + 1;
  }
  return false;
}

std::string_view trim_header_value(std::string_view value) {
  const std::size_t first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return value.substr(first, value.find_last_not_of(" \t") - first + 1);
}

std::string check_header_value(std::string_view value) {
  if (trim_header_value(value).empty()) return "header value must not be blank";
  std::size_t position = 0;
  while (const auto token = next_header_value_token(value, position)) {
    const std::string_view name = token->variable(value);
    const auto& known = header_value_variables();
    if (!token->escape && std::find(known.begin(), known.end(), name) == known.end()) {
      return "unknown variable {" + std::string(name) +
             "} in header value (write {{ and }} for literal braces)";
    }
    position = token->close + 1;
  }
  return {};
}

std::string check_regex(std::string_view pattern) {
  RE2 regex(re2::StringPiece(pattern.data(), pattern.size()), RE2::Quiet);
  if (regex.ok()) return {};
  return "invalid regular expression " + quoted(pattern) + ": " + regex.error();
}

}  // namespace albemu::config
