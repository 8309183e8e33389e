#include "proxy/net/message_head_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "proxy/net/http_wire.h"
#include "tests/proxy/net/message_head_support.h"

namespace albemu::net {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
using head_test::expect_taken_whole;
using head_test::lines;
using head_test::parse;

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

TEST(MessageHeadParser, HeadLongerThanOneCopyIsParsedWhole) {
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

// A pooled head goes from one connection to the next: a head that fails before its start line
// (here: bytes that are no request line) must not show the previous request's.
TEST(MessageHeadParser, NoStartLineLeftFromTheHeadBefore) {
  RequestHead head;
  ASSERT_FALSE(parse("POST /secret?key=1 HTTP/1.0\r\nHost: h\r\n\r\n", head));
  MessageHeadParser<true> parser(head);
  beast::error_code ec;
  const std::string garbage = "\x01\x02 nonsense\r\n\r\n";
  parser.put_head(boost::asio::buffer(garbage), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(head.target(), "");
  EXPECT_EQ(head.method_string(), "");
  EXPECT_EQ(head.version(), 11u);
}

struct Trickled {
  beast::error_code ec;
  std::size_t fields = 0;
  std::size_t stored = 0;
  std::size_t fed = 0;
};

/// Feeds a head that keeps trickling in, each read ending a byte into the next line, with
/// values of `value_size` bytes, until the parser stops it.
Trickled trickle(std::size_t value_size) {
  RequestHead head;
  MessageHeadParser<true> parser(head);
  parser.header_limit(60 * 1024);
  std::string buffered = "GET / HTTP/1.1\r\nH";
  Trickled out{http::error::need_more};
  for (int i = 0; out.ec == http::error::need_more && i < 100000; ++i) {
    const std::string next =
        "ost-" + std::to_string(i) + ": " + std::string(value_size, 'v') + "\r\nH";
    buffered += next;
    out.fed += next.size();
    buffered.erase(0, parser.put_head(boost::asio::buffer(buffered), out.ec));
  }
  out.fields = head.size();
  out.stored = head.stored_bytes();
  return out;
}

// Beast's header_limit bounds each put() alone. A head that keeps trickling in must still stop
// at the parser's own bounds on the whole head: the field count for short fields...
TEST(MessageHeadParser, TricklingHeadStopsAtTheWholeHeadBound) {
  const Trickled small = trickle(8);
  EXPECT_EQ(small.ec, http::error::header_limit);
  EXPECT_EQ(small.fields, MessageHeadParser<true>::kMaxFields);
  EXPECT_LT(small.fed, 2u * 1024 * 1024);
}

// ... and the bytes stored for long ones, well before the count.
TEST(MessageHeadParser, TricklingLongFieldsStopAtTheStoredBytesBound) {
  const Trickled large = trickle(1024);
  EXPECT_EQ(large.ec, http::error::header_limit);
  EXPECT_LT(large.fields, MessageHeadParser<true>::kMaxFields / 2);
  EXPECT_GT(large.stored, MessageHeadParser<true>::kMaxStoredBytes);
  EXPECT_LE(large.stored, MessageHeadParser<true>::kMaxStoredBytes + 64 * 1024);
}

TEST(MessageHeadParser, FieldLimitCountsTheWholeHead) {
  const auto head_with = [](int fields) {
    std::string bytes = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < fields; ++i) bytes += "X-" + std::to_string(i) + ": v\r\n";
    return bytes + "\r\n";
  };
  for (const int fields : {100, 101}) {
    RequestHead head;
    MessageHeadParser<true> parser(head);
    parser.field_limit(100);
    beast::error_code ec;
    const std::string bytes = head_with(fields);
    parser.put_head(boost::asio::buffer(bytes), ec);
    if (fields == 100) {
      EXPECT_FALSE(ec) << ec.message();
      EXPECT_EQ(head.size(), 100u);
    } else {
      EXPECT_EQ(ec, http::error::header_limit);
    }
  }
}

}  // namespace
}  // namespace albemu::net
