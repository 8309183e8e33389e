// libFuzzer target: the URL-mask extractor (proxy/core/url_mask.h).
//
// Input: "MASK\nHOST\nPATH" (missing parts are empty). The mask is parsed; a valid one is matched
// against the host and path through both match() and match_views(), which must agree, and
// every capture must be a non-empty piece of the request.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/core/url_mask.h"

namespace {

/// Takes the text up to the next '\n' (or all of it) off the front of `input`.
std::string_view next_line(std::string_view& input) {
  const std::size_t end = input.find('\n');
  const std::string_view line = input.substr(0, end);
  input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  return line;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

/// True if `needle` occurs in `haystack` ignoring ASCII case (host captures are lower-cased).
bool contains_nocase(std::string_view haystack, std::string_view needle) {
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(haystack[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view mask_text = next_line(input);
  const std::string_view host = next_line(input);
  const std::string_view path = input;

  std::string error;
  const auto mask = albemu::core::UrlMask::parse(mask_text, error);
  if (!mask) {
    check(!error.empty());  // a rejected mask says why
    return 0;
  }
  const auto match = mask->match(host, path);
  albemu::core::UrlMask::Captures captures;
  const bool matched = mask->match_views(host, path, captures);
  check(matched == match.has_value());
  if (!match) return 0;
  check(mask->has_service() || match->service.empty());
  check(mask->has_tag() || match->tag.empty());
  for (const std::string& capture : {match->service, match->tag}) {
    if (capture.empty()) continue;
    check(contains_nocase(host, capture) || path.find(capture) != std::string_view::npos);
  }
  // An empty capture never matches.
  check(!mask->has_service() || !match->service.empty());
  check(!mask->has_tag() || !match->tag.empty());
  return 0;
}
