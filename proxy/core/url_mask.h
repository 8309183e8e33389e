#pragma once
// A serverless NEG's URL mask (`cloudRun.urlMask`), compiled once, matched per request.
//
// Rules (spec 3.3; where GCP is silent, the choice is documented here):
// - A mask is written without a scheme. Its path part begins at the first `/`; a mask with no
//   `/` is host-only; a mask starting with `/` ignores the host.
// - Host and path may each hold `<service>` and/or `<tag>`, each at most once in the whole
//   mask, and two placeholders must be separated by literal text (`<tag>---<service>`).
// - Host: compared case-insensitively, the request's port and a trailing dot ignored. A
//   placeholder captures one or more characters within a label (never a `.`), up to the next
//   literal of the mask. Captures from the host are lower-cased (hosts have no case).
// - Host labels in front of the mask's first label may be omitted: "host or subdomain parts
//   that come before the first placeholder" (spec 3.3). So when the mask's host holds a
//   placeholder, it is matched against the request host's rightmost labels and any labels to
//   the left are ignored: `<service>.example.com` matches `login.example.com` and
//   `test.login.example.com` (service `login`, as `<tag>.<service>.example.com` would give).
//   Omission is by whole labels only: `api-<service>.example.com` needs the label to start
//   with `api-`. A host written without placeholders (`example.com/<service>`) is a filter
//   the user chose to write, so it must equal the request host exactly; write `/<service>`
//   to accept any host.
// - Path: compared case-sensitively against the path before any `?` or `#`. A placeholder
//   captures one or more characters within one segment (never a `/`). Literal text written in
//   the mask must match; request segments after the mask's last one are ignored, so
//   `/<service>` reads `login` from `/login/web/x`. A trailing `/` in the mask is dropped.
// - An empty capture never matches (`/<service>` does not match `/` or `//x`).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::core {

/// A compiled URL mask (`<service>-home.example.com`, `/<service>`,
/// `<tag>.example.com/home/<service>`).
class UrlMask {
 public:
  /// Parses a mask; returns nullopt and sets `error` if it is not a valid mask.
  static std::optional<UrlMask> parse(std::string_view mask, std::string& error);

  struct Match {
    std::string service;  // empty if the mask has no <service>
    std::string tag;      // empty if the mask has no <tag>
  };
  /// Matches the client's original Host (port ignored, case-insensitive) and path (query
  /// already removed or not; it is ignored). nullopt: the mask does not match.
  std::optional<Match> match(std::string_view host, std::string_view path) const;

  /// What match_views() captured: views into the `host` or `path` passed to it. A capture
  /// taken from the host keeps the request's case; `*_from_host` says it still needs
  /// lower-casing. Lets the request path match without allocating.
  struct Captures {
    std::string_view service;
    std::string_view tag;
    bool service_from_host = false;
    bool tag_from_host = false;
  };
  /// Same as match(), without copying. False: the mask does not match.
  bool match_views(std::string_view host, std::string_view path, Captures& captures) const;

  const std::string& text() const { return text_; }
  bool has_service() const { return has_service_; }
  bool has_tag() const { return has_tag_; }

 private:
  struct Piece {
    enum Kind { kLiteral, kService, kTag } kind;
    std::string literal;  // lower-cased in the host
  };
  static bool match_pieces(const std::vector<Piece>& pieces, size_t index, std::string_view text,
                           size_t pos, bool in_host, Captures& captures);
  static bool tokenize(std::string_view part, bool in_host, UrlMask& mask, std::string& error);

  std::string text_;
  std::vector<Piece> host_pieces_;  // empty: host not checked
  std::vector<Piece> path_pieces_;  // path from its leading `/`; empty: path not checked
  bool has_host_ = false;
  bool has_path_ = false;
  bool has_service_ = false;
  bool has_tag_ = false;
  bool host_has_placeholder_ = false;  // leading request labels may then be omitted
  size_t host_label_count_ = 0;        // labels the host pattern spans
};

}  // namespace albemu::core
