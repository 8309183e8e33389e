#include "proxy/net/http2_session.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/post.hpp>

#include "proxy/log/metrics.h"
#include "proxy/net/http2_codec.h"
#include "proxy/net/http2_stream.h"

namespace albemu::net {

namespace {

/// A write carries at most about this much (more frames wait for the next one).
constexpr std::size_t kWriteBatch = 64 * 1024;
/// Empty DATA frames in a row (neither bytes nor the end of a stream) before GOAWAY.
constexpr unsigned kMaxEmptyFrames = 100;

/// A GOAWAY frame (RFC 9113 6.8) for `last_stream_id` with `error`, written by albemu after a
/// fatal codec error, when nghttp2 queues none.
void append_goaway(std::string& out, std::int32_t last_stream_id, std::uint32_t error) {
  const unsigned char frame[] = {0,
                                 0,
                                 8,
                                 NGHTTP2_GOAWAY,
                                 0,
                                 0,
                                 0,
                                 0,
                                 0,
                                 static_cast<unsigned char>(last_stream_id >> 24 & 0x7f),
                                 static_cast<unsigned char>(last_stream_id >> 16),
                                 static_cast<unsigned char>(last_stream_id >> 8),
                                 static_cast<unsigned char>(last_stream_id),
                                 static_cast<unsigned char>(error >> 24),
                                 static_cast<unsigned char>(error >> 16),
                                 static_cast<unsigned char>(error >> 8),
                                 static_cast<unsigned char>(error)};
  out.append(reinterpret_cast<const char*>(frame), sizeof frame);
}

}  // namespace

/// nghttp2's callbacks, each handing the event to the session or to one stream.
struct Http2Callbacks {
  static Http2Session& session(void* user_data) { return *static_cast<Http2Session*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& self = session(user_data);
    const bool was_idle = self.streams_.empty();
    self.streams_.emplace(frame->hd.stream_id,
                          std::make_shared<Http2Stream>(self, frame->hd.stream_id));
    if (was_idle) self.idle_changed();
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                       std::uint8_t, void* user_data) {
    // Request trailers (HEADERS after the body) are not relayed.
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    if (auto* stream = session(user_data).find(frame->hd.stream_id)) {
      stream->on_field({reinterpret_cast<const char*>(name), name_length},
                       {reinterpret_cast<const char*>(value), value_length});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& self = session(user_data);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    // DATA frames that carry nothing and end nothing cost work and are of no use: a run of
    // them is a flood (Envoy allows one in a row). The failure stops nghttp2 in this read; the
    // GOAWAY is queued once it returned (terminate).
    if (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 && !end_stream) {
      if (++self.empty_frames_ > kMaxEmptyFrames) {
        self.terminate(NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      return 0;
    }
    self.empty_frames_ = 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (auto* stream = self.find(frame->hd.stream_id)) {
          if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            stream->on_head(self.plan_.get(self.worker_, self.info_.forwarding_rule), end_stream);
          } else if (end_stream) {
            stream->on_end_stream();
          }
        }
        break;
      case NGHTTP2_DATA:
        if (auto* stream = self.find(frame->hd.stream_id); stream && end_stream) {
          stream->on_end_stream();
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* codec, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void* user_data) {
    return deliver_data(codec, session(user_data).find(stream_id), stream_id, data, length);
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error,
                             void* user_data) {
    auto& self = session(user_data);
    if (auto* stream = self.find(stream_id)) {
      stream->on_closed(error);
      if (stream->ended() || !stream->request_active()) self.drop(stream_id);
    }
    return 0;
  }
};

Http2Session::Http2Session(Worker& worker, ConnectionInfo info)
    : worker_(worker), info_(std::move(info)) {
  worker_.connections.fetch_add(1, std::memory_order_relaxed);
  if (auto* metrics = worker_.metrics()) metrics->connection_opened(worker_.index());
  worker_.add_session(*this);
}

Http2Session::~Http2Session() {
  streams_.clear();
  if (codec_) nghttp2_session_del(codec_);
  worker_.connections.fetch_sub(1, std::memory_order_relaxed);
  if (auto* metrics = worker_.metrics()) metrics->connection_closed(worker_.index());
}

bool Http2Session::start_codec() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                          Http2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Http2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Http2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            Http2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                         Http2Callbacks::on_stream_close);
  // The client's windows open as the requests read their bodies, not as bytes arrive.
  codec_ = new_codec(/*server=*/true, callbacks, this);
  if (codec_ == nullptr) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kHttp2MaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kHttp2StreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(kHeaderLimitBytes)},
  };
  if (nghttp2_submit_settings(codec_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0)
    return false;
  return nghttp2_session_set_local_window_size(codec_, NGHTTP2_FLAG_NONE, 0,
                                               kHttp2ConnectionWindow) == 0;
}

Http2Stream* Http2Session::find(std::int32_t stream_id) {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2Session::drop(std::int32_t stream_id) {
  const auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  // The stream may be on the call stack (its own request's last step): it goes once that
  // returned.
  boost::asio::post(worker_.io_context(), [stream = std::move(it->second)] {});
  streams_.erase(it);
  // A drain that found this stream open sent its GOAWAY already: with the last stream closed,
  // nghttp2 wants neither to read nor to write, and the next flush ends the connection. A
  // second GOAWAY here would reach the client as a second termination.
  if (streams_.empty()) idle_changed();
}

void Http2Session::request_ended(std::int32_t stream_id) {
  if (auto* stream = find(stream_id); stream && stream->closed()) drop(stream_id);
  flush();
}

bool Http2Session::on_bytes(const char* data, std::size_t size) {
  in_codec_ = true;
  const auto used =
      nghttp2_session_mem_recv(codec_, reinterpret_cast<const std::uint8_t*>(data), size);
  in_codec_ = false;
  // A callback that ends the session stops the read with NGHTTP2_ERR_CALLBACK_FAILURE.
  const bool stopped = used == NGHTTP2_ERR_CALLBACK_FAILURE && terminate_after_;
  if (used < 0 && !stopped) {
    // A fatal error queues no GOAWAY of nghttp2's own: flush writes albemu's.
    terminate_after_.reset();
    failed_ = true;
    goaway_error_ = used == NGHTTP2_ERR_FLOODED || used == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                        ? NGHTTP2_ENHANCE_YOUR_CALM
                        : NGHTTP2_PROTOCOL_ERROR;
    if (writing_) {
      // A write is pending: a client that floods and does not read would keep it so.
      close_now();
      return false;
    }
  }
  terminate_now();
  flush();
  // The flush may have ended the connection (a GOAWAY from the client with no stream open):
  // then no read follows.
  return !failed_ && !closed_;
}

void Http2Session::flush() {
  // Called from nghttp2's own callbacks (a stream answered at once, a body piece consumed):
  // the codec must not be asked to serialize from inside them, since sending can close and
  // free a stream the receiving code still holds (nghttp2's programmer's guide). What they
  // queued goes out when mem_recv returned (on_bytes flushes) or in the running loop below.
  if (writing_ || closed_ || in_codec_ || !codec_) return;
  out_.clear();
  while (out_.size() < kWriteBatch) {
    const std::uint8_t* data = nullptr;
    in_codec_ = true;
    const auto n = nghttp2_session_mem_send(codec_, &data);
    in_codec_ = false;
    if (n < 0) {
      failed_ = true;
      break;
    }
    if (n > 0) out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    // A terminate asked for from inside the codec: its GOAWAY is next.
    if (!terminate_now() && n == 0) break;
  }
  if (out_.empty() && failed_ && goaway_error_ != NGHTTP2_NO_ERROR) {
    append_goaway(out_, nghttp2_session_get_last_proc_stream_id(codec_), goaway_error_);
    goaway_error_ = NGHTTP2_NO_ERROR;
  }
  if (!out_.empty()) {
    writing_ = true;
    return write_out(out_);
  }
  if (failed_ ||
      (nghttp2_session_want_read(codec_) == 0 && nghttp2_session_want_write(codec_) == 0)) {
    closed_ = true;
    abort_streams();
    end_transport();
  }
}

void Http2Session::terminate(std::uint32_t error) {
  if (!terminate_after_) terminate_after_ = error;
  if (!in_codec_) terminate_now();
}

bool Http2Session::terminate_now() {
  if (!terminate_after_) return false;
  nghttp2_session_terminate_session(codec_, *terminate_after_);
  terminate_after_.reset();
  return true;
}

void Http2Session::on_written(bool ok) {
  writing_ = false;
  if (!ok) return close_now();
  flush();
}

void Http2Session::close_now() {
  closed_ = true;
  abort_streams();
  close_transport();
}

void Http2Session::abort_streams() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->on_closed(NGHTTP2_CANCEL);
}

Http2Session::Clock::duration Http2Session::keepalive_timeout() {
  const auto* plan = plan_.get(worker_, info_.forwarding_rule).first;
  return plan ? plan->keepalive_timeout : kDefaultKeepaliveTimeout;
}

void Http2Session::idle_timeout() {
  if (closed_ || !streams_.empty()) return;
  terminate(NGHTTP2_NO_ERROR);
  flush();
}

void Http2Session::on_drain() {
  if (closed_ || draining_) return;
  draining_ = true;
  // GOAWAY with the last stream taken: the open ones finish, the client opens no more.
  if (streams_.empty()) {
    terminate(NGHTTP2_NO_ERROR);
  } else {
    nghttp2_submit_goaway(codec_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(codec_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  flush();
}

}  // namespace albemu::net
