#include "proxy/standin/grpc_echo.h"

#include <gtest/gtest.h>

#include <string>

namespace albemu::standin {
namespace {

/// A gRPC message as it goes on the wire: flag, big-endian length, bytes.
std::string framed(const std::string& message, char compressed = 0) {
  const auto size = static_cast<std::uint32_t>(message.size());
  std::string out{compressed, static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                  static_cast<char>(size >> 8), static_cast<char>(size)};
  return out + message;
}

TEST(GrpcFraming, CountsWholeMessagesFedInOnePiece) {
  GrpcFraming framing;
  EXPECT_TRUE(framing.at_message_end());
  framing.feed(framed("hello") + framed("") + framed(std::string(70000, 'm')));
  EXPECT_EQ(framing.messages(), 3u);
  EXPECT_TRUE(framing.at_message_end());
}

TEST(GrpcFraming, FollowsMessagesSplitAnywhere) {
  const std::string wire = framed("abc") + framed(std::string(300, 'z'), 1) + framed("");
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    GrpcFraming framing;
    framing.feed(std::string_view(wire).substr(0, cut));
    framing.feed(std::string_view(wire).substr(cut));
    EXPECT_EQ(framing.messages(), 3u) << "cut at " << cut;
    EXPECT_TRUE(framing.at_message_end()) << "cut at " << cut;
  }
  // Byte by byte, too.
  GrpcFraming framing;
  for (const char c : wire) framing.feed(std::string_view(&c, 1));
  EXPECT_EQ(framing.messages(), 3u);
}

TEST(GrpcFraming, KnowsWhenTheBytesEndInsideAMessage) {
  const std::string wire = framed("hello");
  GrpcFraming in_prefix;
  in_prefix.feed(wire.substr(0, 3));
  EXPECT_FALSE(in_prefix.at_message_end());
  GrpcFraming in_message;
  in_message.feed(wire.substr(0, wire.size() - 1));
  EXPECT_FALSE(in_message.at_message_end());
  EXPECT_EQ(in_message.messages(), 0u);
}

TEST(GrpcStatusCode, AcceptsGrpcCodesOnly) {
  EXPECT_EQ(grpc_status_code("0"), 0u);
  EXPECT_EQ(grpc_status_code("5"), 5u);
  EXPECT_EQ(grpc_status_code("16"), 16u);
  EXPECT_EQ(grpc_status_code("17"), std::nullopt);
  EXPECT_EQ(grpc_status_code("-1"), std::nullopt);
  EXPECT_EQ(grpc_status_code("5 "), std::nullopt);
  EXPECT_EQ(grpc_status_code(""), std::nullopt);
  EXPECT_EQ(grpc_status_code("NOT_FOUND"), std::nullopt);
}

TEST(GrpcPercentEncoded, EscapesPercentAndWhatIsNotPrintableAscii) {
  EXPECT_EQ(grpc_percent_encoded("no such item"), "no such item");
  EXPECT_EQ(grpc_percent_encoded("100% sure"), "100%25 sure");
  EXPECT_EQ(grpc_percent_encoded("line\nbreak"), "line%0Abreak");
  EXPECT_EQ(grpc_percent_encoded("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(grpc_percent_encoded(""), "");
}

}  // namespace
}  // namespace albemu::standin
