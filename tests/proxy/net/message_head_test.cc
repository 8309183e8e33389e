#include "proxy/net/message_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <random>
#include <string>
#include <vector>

#include "proxy/net/http_wire.h"

namespace albemu::net {
namespace {
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

/// Parses `bytes` as one request head (and the body that follows, into `body`).
beast::error_code parse(std::string_view bytes, RequestHead& head, std::string* body = nullptr) {
  MessageHeadParser<true> parser(head);
  parser.body_limit(boost::none);
  beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
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
void expect_taken_whole(const std::string& bytes, RequestHead& head) {
  MessageHeadParser<true> parser(head);
  beast::error_code ec;
  const std::size_t used = parser.put_head(boost::asio::buffer(bytes), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, bytes.size());
  EXPECT_TRUE(parser.is_done());
}

TEST(MessageHeadParser, StoresStartLineAndFieldsAsReceived) {
  std::string bytes =
      "PATCH /a/b?c=d HTTP/1.1\r\nHost: app.example.com\r\nx-CUSTOM:  spaced value \t\r\n"
      "Accept: */*\r\naccept: text/html\r\n\r\n";
  RequestHead head;
  ASSERT_FALSE(parse(bytes, head));
  // The head keeps its own copy: the read buffer is reused for the next bytes.
  std::fill(bytes.begin(), bytes.end(), '#');
  EXPECT_EQ(head.method(), http::verb::patch);
  EXPECT_EQ(head.method_string(), "PATCH");
  EXPECT_EQ(head.target(), "/a/b?c=d");
  EXPECT_EQ(head.version(), 11u);
  EXPECT_EQ(lines(head),
            "Host: app.example.com\nx-CUSTOM: spaced value\nAccept: */*\naccept: text/html\n");
  EXPECT_EQ(head.size(), 4u);
  EXPECT_EQ(head.count(http::field::accept), 2u);
  EXPECT_EQ(head.count("X-Custom"), 1u);
  EXPECT_EQ(head[http::field::host], "app.example.com");
  EXPECT_EQ(head.find(http::field::host)->name(), http::field::host);
}

TEST(MessageHeadParser, FieldsKeepTheOrderReceived) {
  RequestHead head;
  ASSERT_FALSE(parse("GET / HTTP/1.1\r\nX-A: 1\r\nHost: h\r\nx-a: 2\r\n\r\n", head));
  EXPECT_EQ(lines(head), "X-A: 1\nHost: h\nx-a: 2\n");
  head.insert("X-A", "3");  // an added field joins the others of its name, as in Beast
  EXPECT_EQ(lines(head), "X-A: 1\nHost: h\nx-a: 2\nX-A: 3\n");
  head.insert(http::field::host, "h2");
  EXPECT_EQ(lines(head), "X-A: 1\nHost: h\nHost: h2\nx-a: 2\nX-A: 3\n");
}

TEST(MessageHeadParser, UnknownMethodKeepsItsSpelling) {
  RequestHead head;
  ASSERT_FALSE(parse("PURGEX /x HTTP/1.0\r\n\r\n", head));
  EXPECT_EQ(head.method(), http::verb::unknown);
  EXPECT_EQ(head.method_string(), "PURGEX");
  EXPECT_EQ(head.version(), 10u);
}

TEST(MessageHeadParser, ReadsLengthAndChunkedBodiesAndDropsTrailers) {
  RequestHead head;
  std::string body;
  ASSERT_FALSE(parse("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", head, &body));
  EXPECT_EQ(body, "hello");

  body.clear();
  ASSERT_FALSE(
      parse("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n50\r\n" +
                std::string(80, 'x') + "\r\n0\r\nX-Trailer: t\r\n\r\n",
            head, &body));
  EXPECT_EQ(body, "abc" + std::string(80, 'x'));
  EXPECT_TRUE(head.chunked());
  EXPECT_EQ(head.count("X-Trailer"), 0u) << "trailers are not passed on";
}

TEST(MessageHeadParser, ResponseStatusLine) {
  ResponseHead head;
  MessageHeadParser<false> parser(head);
  beast::error_code ec;
  const std::string bytes = "HTTP/1.1 404 Not Here\r\nServer: s\r\nContent-Length: 0\r\n\r\n";
  parser.put(boost::asio::buffer(bytes), ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(head.result_int(), 404u);
  EXPECT_EQ(head.result(), http::status::not_found);
  EXPECT_EQ(head.reason(), "Not Here");
  std::string out;
  serialize_response_head(head, out);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Here\r\nServer: s\r\nContent-Length: 0\r\n\r\n");
}

TEST(MessageHeadParser, ReusedStorageStartsEmpty) {
  RequestHead head;
  ASSERT_FALSE(parse("GET /1 HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\r\n", head));
  ASSERT_FALSE(parse("GET /2 HTTP/1.1\r\nHost: b\r\n\r\n", head));
  EXPECT_EQ(head.target(), "/2");
  EXPECT_EQ(lines(head), "Host: b\n");
  head.trim_capacity(0);
  EXPECT_EQ(head.size(), 0u);
  ASSERT_FALSE(parse("GET /3 HTTP/1.1\r\nHost: c\r\n\r\n", head));
  EXPECT_EQ(lines(head), "Host: c\n");
}

// HeadFields follows Beast's fields: the same edits give the same fields in the same order.
TEST(HeadFields, SameEditsAsBeastsFieldsGiveTheSameResult) {
  const std::vector<std::string> names = {"Host", "Via", "X-A", "x-a", "Accept", "X-Long-Name"};
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    http::fields beast;
    HeadFields ours;
    for (int step = 0; step < 30; ++step) {
      const std::string& name = names[rng() % names.size()];
      const std::string value = "v" + std::to_string(rng() % 100);
      const auto known = http::string_to_field(name);
      switch (rng() % 6) {
        case 0:
          beast.insert(name, value);
          ours.insert(name, value);
          break;
        case 1:
          beast.set(name, value);
          ours.set(name, value);
          break;
        case 2:
          EXPECT_EQ(beast.erase(name), ours.erase(name));
          break;
        case 3:
          if (known != http::field::unknown) {
            beast.set(known, value);
            ours.set(known, value);
          }
          break;
        case 4:
          if (known != http::field::unknown) {
            beast.insert(known, value);
            ours.insert(known, value);
          }
          break;
        case 5:
          // A value taken from the fields themselves, as header rules do.
          if (const auto it = ours.find(name); it != ours.end()) {
            const std::string copy(it->value());
            beast.set("X-Copy", copy);
            ours.set("X-Copy", it->value());
          }
          break;
      }
      ASSERT_EQ(lines(ours), lines(beast)) << "round " << round << " step " << step;
      ASSERT_EQ(ours.count(name), beast.count(name));
    }
  }
}

TEST(HeadFields, EraseWhileIteratingAndFind) {
  HeadFields fields;
  for (const char* name : {"A", "B", "A", "C"}) fields.insert(name, name);
  for (auto it = fields.begin(); it != fields.end();) {
    it = it->name_string() == "A" ? fields.erase(it) : std::next(it);
  }
  EXPECT_EQ(lines(fields), "B: B\nC: C\n");
  EXPECT_EQ(fields.find("a"), fields.end());
  EXPECT_EQ(fields.find("c")->value(), "C");
  EXPECT_EQ(fields.size(), 2u);
}

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
          switch (op) {
            case 0:
              beast.keep_alive(true);
              ours.keep_alive(true);
              break;
            case 1:
              beast.keep_alive(false);
              ours.keep_alive(false);
              break;
            case 2:
              beast.chunked(true);
              ours.chunked(true);
              break;
            case 3:
              beast.chunked(false);
              ours.chunked(false);
              break;
            case 4:
              beast.content_length(7);
              ours.content_length(7);
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
  beast.target("/items/7");
  beast.insert(http::field::host, "h");
  beast.insert("X-Trace", "abc");
  ours.target("/v2/items/7");
  beast.target("/v2/items/7");
  ours.set(http::field::via, "1.1 google");
  beast.set(http::field::via, "1.1 google");
  std::string a;
  std::string b;
  serialize_request_head(ours, a);
  serialize_request_head(beast, b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, "DELETE /v2/items/7 HTTP/1.1\r\nHost: h\r\nX-Trace: abc\r\nVia: 1.1 google\r\n\r\n");
}

TEST(MessageHeadParser, HeadLongerThanTheCopyIsParsedFromTheCallersBytes) {
  std::string bytes = "GET /long HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 200; ++i) bytes += "X-Field-" + std::to_string(i) + ": some-value\r\n";
  bytes += "\r\n";
  ASSERT_GT(bytes.size(), MessageHeadParser<true>::kAdoptLimit);
  RequestHead head;
  ASSERT_NO_FATAL_FAILURE(expect_taken_whole(bytes, head));
  std::fill(bytes.begin(), bytes.end(), '#');
  EXPECT_EQ(head.size(), 201u);
  EXPECT_EQ(head.find("X-Field-199")->value(), "some-value");
  EXPECT_EQ(head.target(), "/long");
}

// A head arriving in pieces: each put_head takes whole lines, the caller drops what was used
// and calls again with the rest plus the next bytes, as the client connection does.
TEST(MessageHeadParser, HeadArrivingInPiecesIsParsedWhole) {
  std::string bytes = "POST /pieces HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 300; ++i)
    bytes += "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
  bytes += "Content-Length: 3\r\n\r\nabc";
  for (std::size_t piece : {1u, 7u, 100u, 5000u}) {
    RequestHead head;
    MessageHeadParser<true> parser(head);
    parser.header_limit(64 * 1024);
    std::string buffered;
    std::size_t fed = 0;
    boost::beast::error_code ec = boost::beast::http::error::need_more;
    while (ec == boost::beast::http::error::need_more && fed < bytes.size()) {
      buffered += bytes.substr(fed, piece);
      fed += piece;
      const std::size_t used = parser.put_head(boost::asio::buffer(buffered), ec);
      buffered.erase(0, used);
      if (parser.is_header_done()) break;
    }
    ASSERT_FALSE(ec) << "piece " << piece << ": " << ec.message();
    ASSERT_TRUE(parser.is_header_done()) << piece;
    EXPECT_EQ(head.size(), 302u) << piece;
    EXPECT_EQ(head.find("X-F0")->value(), "v0");
    EXPECT_EQ(head.find("x-f299")->value(), "v299");
    EXPECT_EQ(head.target(), "/pieces");
    EXPECT_LE(head.stored_bytes(), MessageHeadParser<true>::kAdoptBudget + bytes.size());
  }
}

// Beast hands back an obs-fold value unfolded in a buffer of its own; storing it while Beast is
// still reading the copy of the head must not move that copy. (The client connection refuses
// such heads afterwards; parsing them must still be memory-safe, which ASan checks here.)
TEST(MessageHeadParser, FoldedValuesParsedFromTheCopyLeaveTheCopyInPlace) {
  std::string bytes = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 40; ++i) {
    bytes += "X-" + std::to_string(i) + ": start\r\n";
    for (int j = 0; j < 6; ++j) bytes += " continued-" + std::to_string(j) + "\r\n";
  }
  bytes += "X-Last: end\r\n\r\n";
  RequestHead head;
  ASSERT_NO_FATAL_FAILURE(expect_taken_whole(bytes, head));
  EXPECT_EQ(head.size(), 42u);
  EXPECT_EQ(head.find("X-Last")->value(), "end");
  EXPECT_EQ(head.find("X-39")->value().substr(0, 5), "start");
  EXPECT_NE(head.find("X-39")->value().find("continued-5"), std::string_view::npos);
}

}  // namespace
}  // namespace albemu::net
