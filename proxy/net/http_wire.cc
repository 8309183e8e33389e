#include "proxy/net/http_wire.h"

#include "proxy/core/ascii.h"

namespace albemu::net {

namespace http = boost::beast::http;
using namespace std::string_view_literals;

namespace {

void append_fields(const HeadFields& fields, std::string& out) {
  fields.append_to(out);
  out.append("\r\n"sv);
}

void append_version(unsigned version, std::string& out) {
  out.append("HTTP/"sv);
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

/// RFC 3986 host [":" port]: reg-name, IPv4 or IP-literal characters, without userinfo
/// ('@') and without ',' (a list is several hosts). Empty is allowed (RFC 9112 3.2).
bool is_valid_authority(std::string_view authority) {
  for (char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~%!$&'()*+;=:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool starts_with_ascii_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && core::iequals_ascii(text.substr(0, prefix.size()), prefix);
}

}  // namespace

RequestHeadProblem check_request_head(RequestHead& head) {
  if (head.method() == http::verb::connect) return RequestHeadProblem::kConnect;

  // Beast already refuses Content-Length with Transfer-Encoding and a second field after one
  // ending in chunked; what is left is any coding list other than a lone `chunked`.
  std::size_t codings = 0;
  bool chunked_alone = false;
  for_each_value(head, http::field::transfer_encoding, [&](std::string_view value) {
    ++codings;
    chunked_alone = core::iequals_ascii(core::trim_ows(value), "chunked");
  });
  if (codings > 0) {
    // HTTP/1.0 has no Transfer-Encoding: RFC 9112 6.1 calls such framing faulty.
    if (head.version() < 11) return RequestHeadProblem::kMalformed;
    if (codings != 1 || !chunked_alone) return RequestHeadProblem::kMalformed;
  }

  std::size_t hosts = 0;
  bool host_valid = false;
  for_each_value(head, http::field::host, [&](std::string_view value) {
    ++hosts;
    host_valid = is_valid_authority(core::trim_ows(value));
  });
  const bool has_host = hosts > 0;
  if (has_host && (hosts != 1 || !host_valid)) return RequestHeadProblem::kMalformed;

  const std::string_view target = head.target();
  if (target.front() == '/') {
    if (!has_host && head.version() >= 11) return RequestHeadProblem::kMalformed;
    return RequestHeadProblem::kNone;
  }
  if (target == "*") {
    if (head.method() != http::verb::options) return RequestHeadProblem::kMalformed;
    if (!has_host && head.version() >= 11) return RequestHeadProblem::kMalformed;
    return RequestHeadProblem::kNone;
  }
  // Absolute form: the authority is the host, whatever Host said.
  std::size_t scheme_end = 0;
  if (starts_with_ascii_case(target, "http://")) {
    scheme_end = 7;
  } else if (starts_with_ascii_case(target, "https://")) {
    scheme_end = 8;
  } else {
    return RequestHeadProblem::kMalformed;
  }
  const std::string_view rest = target.substr(scheme_end);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() || !is_valid_authority(authority)) return RequestHeadProblem::kMalformed;
  std::string origin_form;
  if (authority_end == rest.size() || rest[authority_end] != '/') origin_form.push_back('/');
  origin_form.append(rest.substr(authority_end));
  // Copied first: both views point into the fields being replaced.
  const std::string new_host(authority);
  head.target(origin_form);
  head.set(http::field::host, new_host);
  return RequestHeadProblem::kNone;
}

bool has_obs_fold(std::string_view head) {
  for (auto at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
    if (at + 2 < head.size() && (head[at + 2] == ' ' || head[at + 2] == '\t')) return true;
  }
  return false;
}

bool has_bare_lf(std::string_view bytes) {
  for (auto at = bytes.find('\n'); at != std::string_view::npos; at = bytes.find('\n', at + 1)) {
    if (at == 0 || bytes[at - 1] != '\r') return true;
  }
  return false;
}

void serialize_request_head(const RequestHead& head, std::string& out) {
  out.append(head.method_string());
  out.push_back(' ');
  out.append(head.target());
  out.push_back(' ');
  append_version(head.version(), out);
  out.append("\r\n"sv);
  append_fields(head, out);
}

void serialize_response_head(const ResponseHead& head, std::string& out) {
  append_version(head.version(), out);
  const unsigned code = head.result_int();
  const char digits[] = {' ', static_cast<char>('0' + code / 100 % 10),
                         static_cast<char>('0' + code / 10 % 10),
                         static_cast<char>('0' + code % 10), ' '};
  out.append(digits, sizeof digits);
  const std::string_view reason = head.reason();
  out.append(reason.empty() ? std::string_view(http::obsolete_reason(head.result())) : reason);
  out.append("\r\n"sv);
  append_fields(head, out);
}

ChunkHeader::ChunkHeader(std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t at = buffer_.size();
  buffer_[--at] = '\n';
  buffer_[--at] = '\r';
  do {
    buffer_[--at] = kHex[size & 0xf];
    size >>= 4;
  } while (size != 0);
  start_ = at;
}

bool is_plain_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void frame_body(WireBuffers& wire, std::string_view body, bool chunked, bool end) {
  namespace asio = boost::asio;
  if (chunked && !body.empty()) {
    wire.chunk_header = ChunkHeader(body.size());
    wire.out.push_back(asio::buffer(wire.chunk_header.text()));
    wire.out.push_back(asio::buffer(body));
    wire.out.push_back(asio::buffer(kCrlf));
  } else if (!body.empty()) {
    wire.out.push_back(asio::buffer(body));
  }
  if (chunked && end) wire.out.push_back(asio::buffer(kLastChunk));
}

}  // namespace albemu::net
