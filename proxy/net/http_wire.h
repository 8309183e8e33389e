#pragma once
// HTTP/1.1 message heads and chunk framing written straight into a byte string: the proxied
// path's serializer. Beast's serializer walks a view of several buffers per field on every
// write; for the small heads of proxied requests one contiguous string is several times
// cheaper, and the body goes out beside it in the same gathered write.

#include <array>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace albemu::net {

/// Appends `method SP target SP HTTP/1.x CRLF`, every field as `name: value CRLF`, and the
/// empty line.
void serialize_request_head(const boost::beast::http::request_header<>& head, std::string& out);

/// Appends `HTTP/1.x code reason CRLF`, the fields and the empty line. An empty reason is
/// replaced by the standard one for the code.
void serialize_response_head(const boost::beast::http::response_header<>& head, std::string& out);

/// The framing around one chunk of a chunked body: `size-in-hex CRLF` before the data.
class ChunkHeader {
 public:
  explicit ChunkHeader(std::size_t size);
  std::string_view text() const { return {buffer_.data() + start_, buffer_.size() - start_}; }

 private:
  std::array<char, 20> buffer_{};
  std::size_t start_ = 0;
};

inline constexpr std::string_view kCrlf = "\r\n";
/// The last chunk and the end of a chunked body (no trailers).
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace albemu::net
