#pragma once
// One h2c connection to a service (h2c_upstream.cc): the codec, the socket's reads and writes,
// and the streams open on it. Shared by the streams (H2cUpstream) and the pool (h2c_pool.cc).

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/net/h2c_upstream.h"

namespace albemu::net {

inline constexpr std::uint32_t kH2cMaxStreamsPerConnection = 100;
inline constexpr std::int32_t kH2cStreamWindow = 256 * 1024;
inline constexpr std::int32_t kH2cConnectionWindow = 1024 * 1024;
inline constexpr std::size_t kH2cReadSize = 16 * 1024;
inline constexpr std::size_t kH2cWriteBatch = 64 * 1024;

/// One h2c connection to a service: the codec, the socket's reads and writes, and the streams
/// open on it (by id; a stream removes itself when it ends).
class H2cConnection : public std::enable_shared_from_this<H2cConnection> {
 public:
  H2cConnection(Worker& worker, H2cPool& pool, std::unique_ptr<UpstreamStream> socket)
      : worker_(worker),
        pool_(pool),
        socket_(std::move(socket)),
        read_buffer_(std::make_unique_for_overwrite<char[]>(kH2cReadSize)) {}

  ~H2cConnection() {
    if (codec_) nghttp2_session_del(codec_);
  }

  bool start();
  nghttp2_session* codec() { return codec_; }
  bool open() const { return !closed_ && !going_away_; }
  bool has_room() const {
    if (!open()) return false;
    const auto peer_limit =
        nghttp2_session_get_remote_settings(codec_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return streams_.size() + pending_streams_ < std::min(peer_limit, kH2cMaxStreamsPerConnection);
  }
  bool used() const { return used_; }
  /// A stream is about to be opened on this connection (its head not sent yet).
  void reserve() {
    ++pending_streams_;
    used_ = true;
  }
  void opened(std::int32_t id, H2cUpstream* stream) {
    --pending_streams_;
    streams_[id] = stream;
  }
  void unreserve() { --pending_streams_; }
  void forget(std::int32_t id) {
    streams_.erase(id);
    if (streams_.empty()) idle_since_ = std::chrono::steady_clock::now();
  }
  /// How long no stream has been open (zero while one is).
  std::chrono::steady_clock::duration idle_for(std::chrono::steady_clock::time_point now) const {
    if (!streams_.empty() || pending_streams_ > 0) return {};
    return now - idle_since_;
  }
  H2cUpstream* find(std::int32_t id) {
    const auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  }
  void flush();
  void close();

 private:
  friend struct H2cCallbacks;

  void read();
  /// The connection broke: every open stream ends with an error, then the socket closes.
  void fail();

  Worker& worker_;
  H2cPool& pool_;
  std::unique_ptr<UpstreamStream> socket_;
  nghttp2_session* codec_ = nullptr;
  std::unordered_map<std::int32_t, H2cUpstream*> streams_;
  std::size_t pending_streams_ = 0;
  std::chrono::steady_clock::time_point idle_since_ = std::chrono::steady_clock::now();
  std::unique_ptr<char[]> read_buffer_;
  std::string out_;
  bool writing_ = false;
  bool closed_ = false;
  bool going_away_ = false;  // the service sent GOAWAY: no new stream
  bool used_ = false;
};

}  // namespace albemu::net
