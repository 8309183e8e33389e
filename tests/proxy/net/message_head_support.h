#pragma once
// Helpers shared by the message head tests.

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>

#include "proxy/net/message_head_parser.h"

namespace albemu::net::head_test {
namespace beast = boost::beast;
namespace http = beast::http;

/// Every field of `fields` as "name: value" lines, in order.
template <class Fields>
std::string lines(const Fields& fields) {
  std::string out;
  for (const auto& field : fields) {
    out.append(field.name_string());
    out.append(": ");
    out.append(field.value());
    out.append("\n");
  }
  return out;
}

/// Parses `bytes` as one request head, as the proxy does (put_head), and the body that
/// follows into `body`.
inline beast::error_code parse(std::string_view bytes, RequestHead& head,
                               std::string* body = nullptr) {
  MessageHeadParser<true> parser(head);
  parser.body_limit(boost::none);
  beast::error_code ec;
  const std::size_t used = parser.put_head(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !body) return ec;
  char chunk[64];
  bytes.remove_prefix(used);
  while (!parser.is_done()) {
    head.body().data = chunk;
    head.body().size = sizeof chunk;
    const std::size_t n = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return ec;
    bytes.remove_prefix(n);
    body->append(chunk, sizeof chunk - head.body().size);
    if (n == 0 && head.body().size == sizeof chunk) return http::error::need_more;
  }
  return ec;
}

/// One put_head of `bytes`, a whole head without a body: it must be taken whole.
inline void expect_taken_whole(const std::string& bytes, RequestHead& head) {
  MessageHeadParser<true> parser(head);
  beast::error_code ec;
  const std::size_t used = parser.put_head(boost::asio::buffer(bytes), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, bytes.size());
  EXPECT_TRUE(parser.is_done());
}

}  // namespace albemu::net::head_test
