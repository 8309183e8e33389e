// `albemu standin --http2` run as a process and spoken to by curl in h2c with prior knowledge,
// as Cloud Run's docs test a service deployed with --use-http2 locally. Each curl run makes one
// request: curl 7.88 (Debian 12) fails a second request on a reused prior-knowledge connection
// with "Error in the HTTP2 framing layer", a curl bug fixed in curl 8.0. Many streams on one
// connection are grpcio's, in tests/clients/standin_grpc_test.py.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>

#include "tests/integration/support/cli_process.h"
#include "tests/integration/support/proxy_harness.h"

namespace albemu::cli_testing {
namespace {

using testing::CurlResult;
using testing::run_curl;

/// A gRPC message as it goes on the wire: not compressed, big-endian length, bytes.
std::string grpc_framed(const std::string& message) {
  const auto size = static_cast<std::uint32_t>(message.size());
  return std::string{0, static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                     static_cast<char>(size >> 8), static_cast<char>(size)} +
         message;
}

class CliStandinH2cTest : public ::testing::Test {
 protected:
  void SetUp() override {
    standin_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{albemu_binary(), "standin", "--http2", "--host", "127.0.0.1",
                                 "--port", "0"},
        std::map<std::string, std::string>{{"K_SERVICE", "grpc-echo"},
                                           {"K_REVISION", "grpc-echo-00003-h2c"}});
    poll_until([&] {
      std::smatch match;
      const std::string out = standin_->out();
      if (!std::regex_search(out, match, std::regex("listening on ([0-9.]+:[0-9]+) \\(h2c\\)")))
        return false;
      address_ = match[1];
      return true;
    });
    ASSERT_FALSE(address_.empty()) << standin_->out() << standin_->err();
  }

  void TearDown() override {
    standin_->signal(SIGTERM);
    EXPECT_EQ(standin_->wait_exit(std::chrono::seconds(10)), 0);
  }

  std::string url(const std::string& path) const { return "http://" + address_ + path; }

  CurlResult h2c(std::vector<std::string> args) const {
    args.insert(args.begin(), "--http2-prior-knowledge");
    return run_curl(args);
  }

  /// A file holding `bytes`, for curl's --data-binary @FILE.
  std::string body_file(const std::string& bytes) {
    const std::string path = dir_.file("body-" + std::to_string(++files_));
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  TempDir dir_;
  int files_ = 0;
  std::unique_ptr<BackgroundProcess> standin_;
  std::string address_;
};

TEST_F(CliStandinH2cTest, CurlGetsTheEchoOverH2c) {
  const auto result = h2c({"-d", "hello", "-H", "X-Test: yes", url("/a?b=c")});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.headers.rfind("HTTP/2 200", 0), 0u) << result.headers;
  EXPECT_NE(result.headers.find("x-standin-service: grpc-echo"), std::string::npos)
      << result.headers;
  const auto echo = boost::json::parse(result.body);
  EXPECT_EQ(echo.at("service"), "grpc-echo");
  EXPECT_EQ(echo.at("revision"), "grpc-echo-00003-h2c");
  EXPECT_EQ(echo.at("method"), "POST");
  EXPECT_EQ(echo.at("path"), "/a");
  EXPECT_EQ(echo.at("query"), "b=c");
  EXPECT_EQ(echo.at("bodyLength").to_number<int>(), 5);
  // :authority is the Host the service sees.
  EXPECT_EQ(echo.at("headers").at("host"), boost::json::array({address_}));
  EXPECT_EQ(echo.at("headers").at("x-test"), boost::json::array({"yes"}));
}

TEST_F(CliStandinH2cTest, HooksSetStatusBodyAndDelay) {
  const auto teapot = h2c({"-H", "x-standin-status: 418", url("/")});
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(boost::json::parse(teapot.body).at("service"), "grpc-echo");

  const auto empty = h2c({"-H", "x-standin-status: 204", url("/")});
  EXPECT_EQ(empty.status, 204);
  EXPECT_TRUE(empty.body.empty()) << empty.body;

  // More than a stream's window: the body goes out as the client reads.
  const auto bytes = h2c({"-H", "x-standin-response-bytes: 1000003", url("/")});
  EXPECT_EQ(bytes.status, 200);
  ASSERT_EQ(bytes.body.size(), 1000003u);
  EXPECT_EQ(bytes.body.find_first_not_of('x'), std::string::npos);

  const auto start = std::chrono::steady_clock::now();
  const auto delayed = h2c({"-H", "x-standin-delay-ms: 300", url("/")});
  EXPECT_EQ(delayed.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(CliStandinH2cTest, LargeUploadIsCounted) {
  // 3 MiB: many times the stream's window, which opens again as the stand-in reads.
  const auto result =
      h2c({"--data-binary", "@" + body_file(std::string(3 * 1024 * 1024, 'u')), url("/up")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(boost::json::parse(result.body).at("bodyLength").to_number<int>(), 3 * 1024 * 1024);
}

TEST_F(CliStandinH2cTest, GrpcCallIsEchoedWithStatusInTrailers) {
  const std::string messages = grpc_framed("ping") + grpc_framed("") + grpc_framed("pong!");
  const auto result = h2c({"-H", "content-type: application/grpc", "-H", "te: trailers",
                           "--data-binary", "@" + body_file(messages), url("/echo.Echo/Say")});
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, messages);
  EXPECT_NE(result.headers.find("content-type: application/grpc"), std::string::npos)
      << result.headers;
  EXPECT_NE(result.headers.find("x-standin-revision: grpc-echo-00003-h2c"), std::string::npos)
      << result.headers;
  // curl shows the trailers after the head: the status comes after the messages.
  const auto status = result.headers.find("grpc-status: 0");
  ASSERT_NE(status, std::string::npos) << result.headers;
  EXPECT_GT(status, result.headers.find("x-standin-service")) << result.headers;
}

TEST_F(CliStandinH2cTest, GrpcStatusHookAnswersTrailersOnly) {
  const auto result =
      h2c({"-H", "content-type: application/grpc", "-H", "te: trailers", "-H",
           "x-standin-grpc-status: 5", "-H", "x-standin-grpc-message: no 100% match",
           "--data-binary", "@" + body_file(grpc_framed("lost")), url("/echo.Echo/Find")});
  EXPECT_EQ(result.status, 200);
  EXPECT_TRUE(result.body.empty()) << result.body;
  EXPECT_NE(result.headers.find("grpc-status: 5"), std::string::npos) << result.headers;
  EXPECT_NE(result.headers.find("grpc-message: no 100%25 match"), std::string::npos)
      << result.headers;
}

TEST_F(CliStandinH2cTest, TruncatedGrpcMessageEndsWithInternal) {
  const std::string cut = grpc_framed("complete") + grpc_framed("truncated").substr(0, 8);
  const auto result = h2c({"-H", "content-type: application/grpc", "--data-binary",
                           "@" + body_file(cut), url("/echo.Echo/Say")});
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.headers.find("grpc-status: 13"), std::string::npos) << result.headers;
}

TEST_F(CliStandinH2cTest, Http11ClientsAreNotServed) {
  const auto result = run_curl({"--http1.1", url("/")});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.status, 0);
}

TEST_F(CliStandinH2cTest, HealthcheckSpeaksH2cWhenTold) {
  EXPECT_EQ(run_albemu({"healthcheck", "--http2", "--url", url("/ready")}).exit_code, 0);
  // An HTTP/1.1 probe fails: the stand-in speaks h2c only.
  EXPECT_NE(run_albemu({"healthcheck", "--url", url("/ready")}).exit_code, 0);
}

}  // namespace
}  // namespace albemu::cli_testing
