#include "proxy/net/http_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace albemu::net {
namespace {
namespace http = boost::beast::http;

RequestHead head(std::string_view target, unsigned version = 11) {
  RequestHead out;
  out.method(http::verb::get);
  out.target(target);
  out.version(version);
  return out;
}

TEST(CheckRequestHead, OriginFormNeedsOneWellFormedHostOnHttp11) {
  auto request = head("/x");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed);  // no Host
  request.set(http::field::host, "a.example:8080");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kNone);
  request.insert(http::field::host, "a.example:8080");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed);  // twice

  auto old = head("/x", 10);
  EXPECT_EQ(check_request_head(old), RequestHeadProblem::kNone);
  for (const char* bad : {"a b", "a,b", "u@a", "a/b", "a\"b"}) {
    auto request = head("/x");
    request.set(http::field::host, bad);
    EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed) << bad;
  }
}

TEST(CheckRequestHead, TransferEncodingMustBeAloneChunked) {
  auto request = head("/x");
  request.set(http::field::host, "a");
  request.set(http::field::transfer_encoding, "Chunked");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kNone);
  for (const char* coding : {"gzip", "gzip, chunked", "chunked, gzip", "identity", ""}) {
    request.set(http::field::transfer_encoding, coding);
    EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed) << coding;
  }
  request.set(http::field::transfer_encoding, "chunked");
  request.insert(http::field::transfer_encoding, "chunked");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed);
}

TEST(CheckRequestHead, TransferEncodingOnHttp10IsFaultyFraming) {
  auto request = head("/x", 10);
  request.set(http::field::transfer_encoding, "chunked");
  EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed);
}

TEST(CheckRequestHead, AbsoluteFormBecomesOriginFormAndHost) {
  auto request = head("HTTPS://b.example:8443?q=1");
  request.set(http::field::host, "ignored");
  ASSERT_EQ(check_request_head(request), RequestHeadProblem::kNone);
  EXPECT_EQ(request.target(), "/?q=1");
  EXPECT_EQ(request[http::field::host], "b.example:8443");

  auto no_host = head("http://c.example/p/q");
  ASSERT_EQ(check_request_head(no_host), RequestHeadProblem::kNone);
  EXPECT_EQ(no_host.target(), "/p/q");
  EXPECT_EQ(no_host[http::field::host], "c.example");

  for (const char* bad : {"http:///x", "http://u@c/x", "ftp://c/x", "c/x", "?q", "*"}) {
    auto request = head(bad);
    request.set(http::field::host, "a");
    EXPECT_EQ(check_request_head(request), RequestHeadProblem::kMalformed) << bad;
  }
}

TEST(CheckRequestHead, AsteriskOnlyForOptionsAndConnectIsRefused) {
  auto options = head("*");
  options.method(http::verb::options);
  options.set(http::field::host, "a");
  EXPECT_EQ(check_request_head(options), RequestHeadProblem::kNone);

  auto connect = head("a.example:443");
  connect.method(http::verb::connect);
  connect.set(http::field::host, "a.example:443");
  EXPECT_EQ(check_request_head(connect), RequestHeadProblem::kConnect);
}

TEST(RawHeadChecks, ObsFoldAndBareLf) {
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"));
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n"));
  EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\nA: b c\r\n\r\n"));

  EXPECT_TRUE(has_bare_lf("GET / HTTP/1.1\n"));
  EXPECT_TRUE(has_bare_lf("\nGET"));
  EXPECT_TRUE(has_bare_lf("5\r\nab\ncd"));
  EXPECT_FALSE(has_bare_lf("GET / HTTP/1.1\r\nA: b\r\n"));
  EXPECT_FALSE(has_bare_lf("GET / HTTP/1.1\r"));
}

}  // namespace
}  // namespace albemu::net
