#include "proxy/core/url_mask.h"

#include <cstddef>

namespace albemu::core {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_host_char(char c) { return is_alnum(c) || c == '-' || c == '.'; }

// RFC 3986 pchar plus the separator: unreserved, sub-delims, ':', '@', '%' (already encoded).
bool is_path_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '%':
    case '/':
      return true;
    default:
      return false;
  }
}

std::string quoted(std::string_view text) {
  std::string out = "URL mask \"";
  out.append(text);
  out += "\": ";
  return out;
}

std::string describe_char(char c) {
  if (c == ' ') return "a space";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  return std::string("'") + c + "'";
}

// The host without port and trailing dot: "Example.com:8080" -> "Example.com".
std::string_view bare_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(0, close + 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

// Where the rightmost `labels` labels of `host` begin; npos if it has fewer.
size_t rightmost_labels_start(std::string_view host, size_t labels) {
  size_t end = host.size();
  for (size_t seen = 1; seen < labels; ++seen) {
    size_t dot = end == 0 ? std::string_view::npos : host.rfind('.', end - 1);
    if (dot == std::string_view::npos) return std::string_view::npos;
    end = dot;
  }
  size_t dot = end == 0 ? std::string_view::npos : host.rfind('.', end - 1);
  return dot == std::string_view::npos ? 0 : dot + 1;
}

}  // namespace

bool UrlMask::tokenize(std::string_view part, bool in_host, UrlMask& mask, std::string& error) {
  std::vector<Piece>& pieces = in_host ? mask.host_pieces_ : mask.path_pieces_;
  for (size_t i = 0; i < part.size();) {
    char c = part[i];
    if (c == '<') {
      size_t close = part.find('>', i);
      if (close == std::string_view::npos) {
        error = quoted(mask.text_) + "'<' without a closing '>'";
        return false;
      }
      std::string_view name = part.substr(i + 1, close - i - 1);
      Piece::Kind kind;
      bool* seen;
      if (name == "service") {
        kind = Piece::kService;
        seen = &mask.has_service_;
      } else if (name == "tag") {
        kind = Piece::kTag;
        seen = &mask.has_tag_;
      } else {
        error = quoted(mask.text_) + "unknown placeholder <" + std::string(name) +
                ">; only <service> and <tag> are allowed";
        return false;
      }
      if (*seen) {
        error = quoted(mask.text_) + "<" + std::string(name) + "> appears more than once";
        return false;
      }
      // Two placeholders in a row could split the text anywhere.
      if (!pieces.empty() && pieces.back().kind != Piece::kLiteral) {
        error = quoted(mask.text_) + "placeholders must be separated by literal text";
        return false;
      }
      *seen = true;
      if (in_host) mask.host_has_placeholder_ = true;
      pieces.push_back(Piece{kind, {}});
      i = close + 1;
      continue;
    }
    if (in_host ? !is_host_char(c) : !is_path_char(c)) {
      error = quoted(mask.text_) + describe_char(c) + " is not allowed in the " +
              (in_host ? "host" : "path");
      if (c == ':' && in_host) error += " (write the mask without scheme or port)";
      return false;
    }
    if (pieces.empty() || pieces.back().kind != Piece::kLiteral) {
      pieces.push_back(Piece{Piece::kLiteral, {}});
    }
    pieces.back().literal += in_host ? lower(c) : c;
    ++i;
  }
  return true;
}

std::optional<UrlMask> UrlMask::parse(std::string_view text, std::string& error) {
  UrlMask mask;
  mask.text_ = std::string(text);
  if (text.empty()) {
    error = "URL mask is empty";
    return std::nullopt;
  }
  if (text.find("://") != std::string_view::npos) {
    error = quoted(text) + "write the mask without the scheme (no http:// or https://)";
    return std::nullopt;
  }
  size_t slash = text.find('/');
  std::string_view host = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : text.substr(slash);

  if (!host.empty()) {
    if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos) {
      error = quoted(text) + "the host has an empty label";
      return std::nullopt;
    }
    if (!tokenize(host, true, mask, error)) return std::nullopt;
    mask.has_host_ = true;
    mask.host_label_count_ = 1;
    for (char c : host) mask.host_label_count_ += c == '.' ? 1 : 0;
  }
  // A trailing slash adds nothing: request segments after the mask's are ignored anyway.
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.find("//") != std::string_view::npos) {
    error = quoted(text) + "the path has an empty segment";
    return std::nullopt;
  }
  if (path.size() > 1) {
    if (!tokenize(path, false, mask, error)) return std::nullopt;
    mask.has_path_ = true;
  }
  if (!mask.has_service_ && !mask.has_tag_) {
    error = quoted(text) + "has no <service> or <tag> placeholder";
    return std::nullopt;
  }
  return mask;
}

bool UrlMask::match_pieces(const std::vector<Piece>& pieces, size_t index, std::string_view text,
                           size_t pos, bool in_host, Captures& captures) {
  if (index == pieces.size()) {
    // The host must be consumed entirely; the path may go on past the mask's last segment.
    return pos == text.size() || (!in_host && text[pos] == '/');
  }
  const Piece& piece = pieces[index];
  if (piece.kind == Piece::kLiteral) {
    const std::string& literal = piece.literal;
    if (text.size() - pos < literal.size()) return false;
    for (size_t i = 0; i < literal.size(); ++i) {
      char c = text[pos + i];
      if ((in_host ? lower(c) : c) != literal[i]) return false;
    }
    return match_pieces(pieces, index + 1, text, pos + literal.size(), in_host, captures);
  }
  // A placeholder: one or more characters within the label or segment.
  const char separator = in_host ? '.' : '/';
  size_t limit = pos;
  while (limit < text.size() && text[limit] != separator) ++limit;
  if (limit == pos) return false;  // an empty capture never matches
  auto capture = [&](size_t end) {
    std::string_view value = text.substr(pos, end - pos);
    if (piece.kind == Piece::kService) {
      captures.service = value;
      captures.service_from_host = in_host;
    } else {
      captures.tag = value;
      captures.tag_from_host = in_host;
    }
  };
  if (index + 1 == pieces.size()) {
    // Last piece: it takes the rest of the label or segment; the host must end there.
    if (in_host && limit != text.size()) return false;
    capture(limit);
    return true;
  }
  // Placeholders are always followed by a literal (parse() forbids two in a row). Shortest
  // capture first, so it stops at the next literal; longer ones only if the rest fails.
  const char next = pieces[index + 1].literal.front();
  for (size_t end = pos + 1; end <= limit && end < text.size(); ++end) {
    if ((in_host ? lower(text[end]) : text[end]) != next) continue;
    if (match_pieces(pieces, index + 1, text, end, in_host, captures)) {
      capture(end);
      return true;
    }
  }
  return false;
}

bool UrlMask::match_views(std::string_view host, std::string_view path, Captures& captures) const {
  captures = Captures{};
  if (has_host_) {
    host = bare_host(host);
    size_t start = 0;
    if (host_has_placeholder_) {
      start = rightmost_labels_start(host, host_label_count_);
      if (start == std::string_view::npos) return false;
    }
    if (!match_pieces(host_pieces_, 0, host.substr(start), 0, true, captures)) return false;
  }
  if (has_path_) {
    // A plain scan: find_first_of would call memchr once per character of the path.
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '?' || path[i] == '#') {
        path = path.substr(0, i);
        break;
      }
    }
    if (!match_pieces(path_pieces_, 0, path, 0, false, captures)) return false;
  }
  return true;
}

std::optional<UrlMask::Match> UrlMask::match(std::string_view host, std::string_view path) const {
  Captures captures;
  if (!match_views(host, path, captures)) return std::nullopt;
  auto copy = [](std::string_view value, bool from_host) {
    std::string out(value);
    if (from_host) {
      for (char& c : out) c = lower(c);
    }
    return out;
  };
  return Match{copy(captures.service, captures.service_from_host),
               copy(captures.tag, captures.tag_from_host)};
}

}  // namespace albemu::core
