#include "proxy/net/http_wire.h"

namespace albemu::net {

namespace http = boost::beast::http;

namespace {

void append_fields(const http::fields& fields, std::string& out) {
  for (const auto& field : fields) {
    out.append(field.name_string());
    out.append(": ");
    out.append(field.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

void append_version(unsigned version, std::string& out) {
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

}  // namespace

void serialize_request_head(const http::request_header<>& head, std::string& out) {
  out.append(head.method_string());
  out.push_back(' ');
  out.append(head.target());
  out.push_back(' ');
  append_version(head.version(), out);
  out.append("\r\n");
  append_fields(head, out);
}

void serialize_response_head(const http::response_header<>& head, std::string& out) {
  append_version(head.version(), out);
  const unsigned code = head.result_int();
  const char digits[] = {' ', static_cast<char>('0' + code / 100 % 10),
                         static_cast<char>('0' + code / 10 % 10),
                         static_cast<char>('0' + code % 10), ' '};
  out.append(digits, sizeof digits);
  const auto reason = head.reason();
  out.append(reason.empty() ? http::obsolete_reason(head.result()) : reason);
  out.append("\r\n");
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

}  // namespace albemu::net
