#pragma once
// What both ends of albemu's HTTP/2 share, the client streams (http2_stream.cc) and the h2c
// streams to services (h2c_upstream.cc): nghttp2 codecs whose windows open as the application
// consumes, head fields as nghttp2's name/value pairs, and a stream's queue of body bytes.

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/head_fields.h"

namespace albemu::net {

/// A server or client codec with `callbacks` (which it takes over and deletes) that opens the
/// peer's windows only as nghttp2_session_consume is called. Null if nghttp2 failed.
nghttp2_session* new_codec(bool server, nghttp2_session_callbacks* callbacks, void* user_data);

/// nghttp2's DATA callback: the bytes go to `stream`'s on_data, or, with no stream to take
/// them, are consumed at once (the peer's window must not stay shut).
template <class Stream>
int deliver_data(nghttp2_session* codec, Stream* stream, std::int32_t stream_id,
                 const std::uint8_t* data, std::size_t length) {
  if (stream != nullptr) {
    stream->on_data(reinterpret_cast<const char*>(data), length);
  } else {
    nghttp2_session_consume(codec, stream_id, length);
  }
  return 0;
}

/// Body bytes of one stream, received or queued, handed out in pieces.
class ByteQueue {
 public:
  void append(std::string_view bytes) {
    if (empty()) clear();
    data_.append(bytes);
  }
  std::size_t size() const { return data_.size() - offset_; }
  bool empty() const { return offset_ == data_.size(); }
  /// Moves up to `max` bytes to `out`; returns how many.
  std::size_t take(void* out, std::size_t max) {
    const std::size_t n = std::min(max, size());
    std::memcpy(out, data_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  void clear() {
    data_.clear();
    offset_ = 0;
  }

 private:
  std::string data_;
  std::size_t offset_ = 0;
};

/// Name/value pairs for nghttp2, which copies them when they are submitted.
class Http2Fields {
 public:
  /// A pseudo-field (":status", ":method", ...); `value` must outlive the submit.
  void add(std::string_view name, std::string_view value);
  /// `fields`, with lowercase names, without connection-specific fields and without Host
  /// (`:authority` stands for it) when `drop_host`.
  void add_all(const HeadFields& fields, bool drop_host = false);
  const nghttp2_nv* data() const { return nv_.data(); }
  std::size_t size() const { return nv_.size(); }

 private:
  std::vector<nghttp2_nv> nv_;
  std::deque<std::string> names_;  // the lowered names (a deque: they never move)
};

}  // namespace albemu::net
