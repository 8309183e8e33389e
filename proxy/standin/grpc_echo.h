#pragma once
// The pieces of gRPC the h2c stand-in's echo service needs: following the length-prefixed
// messages of a call as its bytes pass by, the status hook's value, and grpc-message's encoding
// (gRPC's PROTOCOL-HTTP2.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace albemu::standin {

/// Follows a stream of gRPC messages (a 1-byte compressed flag, a 4-byte big-endian length,
/// the message) without keeping them: the echo passes the bytes on as they come, and only
/// needs to know at the end whether the last message was whole.
class GrpcFraming {
 public:
  /// The next bytes of the stream, in order.
  void feed(std::string_view bytes);
  /// Whether the bytes so far end where a message ends (true before any byte).
  bool at_message_end() const { return prefix_size_ == 0 && remaining_ == 0; }
  /// Messages seen whole so far.
  std::uint64_t messages() const { return messages_; }

 private:
  static constexpr std::size_t kPrefixSize = 5;
  unsigned char prefix_[kPrefixSize] = {};
  std::size_t prefix_size_ = 0;  // bytes of the current prefix seen
  std::uint64_t remaining_ = 0;  // bytes of the current message still to come
  std::uint64_t messages_ = 0;
};

/// x-standin-grpc-status's value as a gRPC status code (0 to 16); nullopt if it is none.
std::optional<unsigned> grpc_status_code(std::string_view text);

/// `text` as grpc-message carries it: percent-encoded, every byte outside printable ASCII
/// (0x20 to 0x7e) and '%' itself as %XX.
std::string grpc_percent_encoded(std::string_view text);

}  // namespace albemu::standin
