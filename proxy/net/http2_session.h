#pragma once
// HTTP/2 from clients: one connection carries many requests, each on a stream of its own.
// nghttp2 is the codec (frames, HPACK, flow control, stream states); Http2Session owns the
// streams, and each Http2Stream (http2_stream.h) is the RequestStream of one Request, so every
// stream runs the same phases as an HTTP/1 request. Http2Connection<Stream>
// (http2_connection.cc) adds the socket reads and writes and the timers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/net/request_context.h"
#include "proxy/net/worker.h"

struct nghttp2_session;

namespace albemu::net {

class Http2Stream;

/// Settings albemu announces to HTTP/2 clients.
inline constexpr std::uint32_t kHttp2MaxConcurrentStreams = 100;
inline constexpr std::int32_t kHttp2StreamWindow = 256 * 1024;
inline constexpr std::int32_t kHttp2ConnectionWindow = 1024 * 1024;

class Http2Session : public SessionBase {
 public:
  using Clock = std::chrono::steady_clock;

  ~Http2Session() override;
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // ---- for the streams (worker thread)
  Worker& worker() { return worker_; }
  const ConnectionInfo& info() const { return info_; }
  nghttp2_session* codec() { return codec_; }
  /// Keeps the connection alive while one of its streams is.
  virtual std::shared_ptr<void> keepalive() = 0;
  /// Serializes what the codec has queued and writes it, unless a write is pending (its end
  /// flushes again) or the codec is running (after it returns). Closes the connection when the
  /// codec wants neither to read nor to write.
  void flush();
  /// A stream's request ended: the stream is dropped once the codec closed it too.
  void request_ended(std::int32_t stream_id);

  // ---- SessionBase
  void on_drain() override;
  std::string_view forwarding_rule() const override { return info_.forwarding_rule; }
  void forget_generation() override { plan_.clear(); }

 protected:
  Http2Session(Worker& worker, ConnectionInfo info);

  /// Creates the codec and queues the server's SETTINGS. False if nghttp2 failed.
  bool start_codec();
  /// Bytes from the client. False: the connection ends (the codec queued its GOAWAY) or ended.
  bool on_bytes(const char* data, std::size_t size);
  /// The pending write of out_ ended.
  void on_written(bool ok);
  /// Every stream's request ends without an answer (the connection is gone).
  void abort_streams();
  /// Ends the connection at once: its streams are aborted and the socket closed.
  void close_now();
  bool writing() const { return writing_; }
  bool idle() const { return streams_.empty(); }
  /// The forwarding rule's keepalive timeout (the current generation's).
  Clock::duration keepalive_timeout();
  /// The idle (keepalive) timeout passed with no stream open: GOAWAY, then close.
  void idle_timeout();

  /// Writes `bytes` (they stay valid until on_written).
  virtual void write_out(std::string_view bytes) = 0;
  /// Closes the socket at once.
  virtual void close_transport() = 0;
  /// The codec is done (GOAWAY sent): ends the connection so that the client still reads it,
  /// closing its write side and reading and dropping what the client sends for a moment.
  virtual void end_transport() = 0;
  /// The connection went idle (no stream open) or busy: the keepalive timer runs while idle.
  virtual void idle_changed() = 0;

  Worker& worker_;
  ConnectionInfo info_;
  bool closed_ = false;

 private:
  friend struct Http2Callbacks;

  Http2Stream* find(std::int32_t stream_id);
  void drop(std::int32_t stream_id);
  /// Ends the session with GOAWAY(`error`) once the open streams are done: at once, or, from
  /// inside nghttp2's callbacks, once it returned. A terminate from a callback is undone by
  /// nghttp2, which resets its read state after the callback and goes on parsing the read; a
  /// connection error later in it then fails an assertion in nghttp2 (which aborts).
  void terminate(std::uint32_t error);
  /// Carries out the terminate a callback asked for; false if none was.
  bool terminate_now();

  PlanCache plan_;
  nghttp2_session* codec_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<Http2Stream>> streams_;
  std::string out_;  // serialized frames being written
  bool writing_ = false;
  bool in_codec_ = false;  // inside nghttp2_session_mem_recv or _mem_send (their callbacks)
  bool draining_ = false;
  bool failed_ = false;             // a connection error: what is queued goes out, then the close
  std::uint32_t goaway_error_ = 0;  // the GOAWAY albemu owes after a fatal codec error
  unsigned empty_frames_ = 0;       // empty DATA frames in a row
  std::optional<std::uint32_t> terminate_after_;  // asked for inside nghttp2's callbacks
};

}  // namespace albemu::net
