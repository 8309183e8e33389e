#include "proxy/net/message_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/net/http_wire.h"
#include "tests/proxy/net/message_head_support.h"

namespace albemu::net {
namespace {
namespace http = boost::beast::http;
using head_test::lines;
using head_test::parse;

// chunked(), content_length() and keep_alive() rewrite the fields as Beast's message does.
TEST(MessageHead, FramingAndConnectionHelpersMatchBeast) {
  const std::vector<std::string> connections = {"", "close", "keep-alive", "Upgrade, close",
                                                "foo, Keep-Alive"};
  const std::vector<std::string> codings = {"", "gzip", "chunked", "gzip, chunked"};
  for (unsigned version : {10u, 11u}) {
    for (const auto& connection : connections) {
      for (const auto& coding : codings) {
        for (int op = 0; op < 5; ++op) {
          http::response<http::string_body> beast;
          ResponseHead ours;
          beast.version(version);
          ours.version(version);
          const auto add = [&](http::field name, const std::string& value) {
            if (value.empty()) return;
            beast.insert(name, value);
            ours.insert(name, value);
          };
          add(http::field::connection, connection);
          add(http::field::transfer_encoding, coding);
          add(http::field::content_length, "12");
          EXPECT_EQ(ours.chunked(), beast.chunked());
          // The same edit to both.
          const auto both = [&](auto edit) {
            edit(beast);
            edit(ours);
          };
          switch (op) {
            case 0:
              both([](auto& m) { m.keep_alive(true); });
              break;
            case 1:
              both([](auto& m) { m.keep_alive(false); });
              break;
            case 2:
              both([](auto& m) { m.chunked(true); });
              break;
            case 3:
              both([](auto& m) { m.chunked(false); });
              break;
            case 4:
              both([](auto& m) { m.content_length(7); });
              break;
          }
          EXPECT_EQ(lines(ours), lines(beast.base()))
              << "HTTP/1." << version % 10 << " Connection: " << connection
              << " Transfer-Encoding: " << coding << " op " << op;
        }
      }
    }
  }
}

TEST(MessageHead, SerializesAsBeastsHeadWould) {
  http::request_header<> beast;
  RequestHead ours;
  ASSERT_FALSE(parse("DELETE /items/7 HTTP/1.1\r\nHost: h\r\nX-Trace: abc\r\n\r\n", ours));
  beast.method(http::verb::delete_);
  beast.insert(http::field::host, "h");
  beast.insert("X-Trace", "abc");
  ours.target("/v2/items/7");
  beast.target("/v2/items/7");
  ours.set(http::field::via, "1.1 google");
  beast.set(http::field::via, "1.1 google");
  std::string a;
  serialize_request_head(ours, a);
  std::ostringstream b;  // Beast's own writer as the reference
  b << beast;
  EXPECT_EQ(a, b.str());
  EXPECT_EQ(a, "DELETE /v2/items/7 HTTP/1.1\r\nHost: h\r\nX-Trace: abc\r\nVia: 1.1 google\r\n\r\n");
}

TEST(MessageHead, ClearEmptiesTheStartLineToo) {
  RequestHead request;
  ASSERT_FALSE(parse("POST /secret?key=1 HTTP/1.0\r\nHost: h\r\n\r\n", request));
  request.clear();
  EXPECT_EQ(request.target(), "");
  EXPECT_EQ(request.method_string(), "");
  EXPECT_EQ(request.version(), 11u);
  EXPECT_EQ(request.size(), 0u);
  ASSERT_FALSE(parse("POST /secret HTTP/1.1\r\nHost: h\r\n\r\n", request));
  request.trim_capacity(0);
  EXPECT_EQ(request.target(), "");
}

}  // namespace
}  // namespace albemu::net
