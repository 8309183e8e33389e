#pragma once
// HTTP/1.1 message heads and chunk framing written straight into a byte string: the proxied
// path's serializer. Beast's serializer walks a view of several buffers per field on every
// write; for the small heads of proxied requests one contiguous string is several times
// cheaper, and the body goes out beside it in the same gathered write.

#include <array>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/message_head.h"

namespace albemu::net {

/// Appends `method SP target SP HTTP/1.x CRLF`, every field as `name: value CRLF`, and the
/// empty line.
void serialize_request_head(const RequestHead& head, std::string& out);

/// Appends `HTTP/1.x code reason CRLF`, the fields and the empty line. An empty reason is
/// replaced by the standard one for the code.
void serialize_response_head(const ResponseHead& head, std::string& out);

/// The framing around one chunk of a chunked body: `size-in-hex CRLF` before the data.
class ChunkHeader {
 public:
  explicit ChunkHeader(std::size_t size);
  std::string_view text() const { return {buffer_.data() + start_, buffer_.size() - start_}; }

 private:
  std::array<char, 20> buffer_{};
  std::size_t start_ = 0;
};

/// What check_request_head found wrong with a request head Beast accepted.
enum class RequestHeadProblem {
  kNone,
  kMalformed,  // ambiguous framing, a bad target or Host: 400 and close
  kConnect,    // CONNECT: no route tunnels, 404 and close (Envoy's answer)
};

/// The checks Beast's parser leaves to the server, on a request head it parsed (RFC 9112):
/// Transfer-Encoding must be exactly `chunked` (Beast reads no body at all when chunked is
/// not the final coding, which would turn the body into a second request), Host must be
/// single and well formed, and HTTP/1.1 needs one. An absolute-form target is brought to
/// origin form and its authority replaces Host (RFC 9112 3.2.2). Called on the worker's
/// thread once per request head, before anything reads the target or Host.
RequestHeadProblem check_request_head(RequestHead& head);

/// True if the raw head bytes `head` hold an obs-fold (a line starting with SP or HTAB),
/// which Beast unfolds silently and RFC 9112 5.2 lets a server reject.
bool has_obs_fold(std::string_view head);

/// True if `bytes` hold a LF not preceded by CR (RFC 9112 2.2 lets a server refuse those).
bool has_bare_lf(std::string_view bytes);

/// True if `name` is a non-empty run of [A-Za-z0-9.-]: what a DNS host name can hold.
bool is_plain_host_name(std::string_view name);

inline constexpr std::string_view kCrlf = "\r\n";
/// The last chunk and the end of a chunked body (no trailers).
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

/// What a message head is serialized into and a gathered write is made of: kept (by a client
/// connection, or lent by the worker to a backend request), so the buffers keep their capacity
/// from one message to the next.
struct WireBuffers {
  std::string head;
  std::vector<boost::asio::const_buffer> out;  // the gathered write in progress
  ChunkHeader chunk_header{0};                 // framing of the chunk in `out`
};

/// Queues `body` in wire.out (which may hold the head already), chunk-framed when `chunked`;
/// `end` adds the end of a chunked body. `body` and `wire` must outlive the write.
void frame_body(WireBuffers& wire, std::string_view body, bool chunked, bool end);

}  // namespace albemu::net
