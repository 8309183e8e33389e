#include "proxy/standin/h2c_standin_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy/core/proxy_error.h"
#include "proxy/net/http2_codec.h"
#include "proxy/net/http_date.h"
#include "proxy/standin/grpc_echo.h"

namespace albemu::standin {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// Settings the stand-in announces; what albemu announces to its own clients.
constexpr std::uint32_t kStandinMaxStreams = 100;
constexpr std::int32_t kStandinStreamWindow = 256 * 1024;
constexpr std::int32_t kStandinConnectionWindow = 1024 * 1024;
/// A request head's names and values together, as the HTTP/1.1 stand-in's head limit.
constexpr std::size_t kStandinHeadLimit = 64 * 1024;
constexpr std::size_t kStandinReadSize = 16 * 1024;
/// A write carries at most about this much (more frames wait for the next one).
constexpr std::size_t kStandinWriteBatch = 64 * 1024;
/// x-standin-delay-ms is held to a day.
constexpr std::uint64_t kStandinMaxDelayMs = 24ull * 60 * 60 * 1000;

}  // namespace

class H2cStandinSession;

/// One stream: the request's head as it arrives, then its answer. A gRPC call is answered as
/// it goes (each message echoed as it arrives); anything else once the request has ended.
class H2cStandinStream {
 public:
  using Step = void (H2cStandinStream::*)();

  H2cStandinStream(H2cStandinSession& session, std::int32_t id);

  // ---- from nghttp2's callbacks
  /// A request field; false once the head is over the limit (the stream is then reset).
  bool on_field(std::string_view name, std::string_view value);
  void on_head_end(bool end_stream);
  void on_data(const char* data, std::size_t size);
  void on_end_stream();
  /// nghttp2's data source: the response body.
  ssize_t read_body(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags);
  /// Received bytes not consumed yet (the echo's queue): the connection's window must get
  /// them back when the stream goes.
  std::size_t held() const { return held_; }

  /// The JSON echo, or what the hooks ask for.
  void answer();
  /// A gRPC call: the status the hook asks for at once, or the headers and then the echo.
  void start_grpc();

 private:
  enum class Body { kNone, kText, kRepeated, kGrpcEcho };

  /// Runs `step` now, or after x-standin-delay-ms.
  void after_delay(Step step);
  void submit(const net::Http2Fields& fields, Body body);
  void add_identity(net::Http2Fields& fields, bool with_revision) const;
  void submit_grpc_trailers();
  /// The value of request field `name` (lowercase), empty if it has none.
  std::string_view field(std::string_view name) const;

  H2cStandinSession& session_;
  std::int32_t id_;
  std::string method_;
  std::string path_;
  std::string authority_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::size_t head_bytes_ = 0;
  std::uint64_t body_length_ = 0;
  bool grpc_ = false;
  bool request_ended_ = false;
  asio::steady_timer delay_;

  Body body_ = Body::kNone;
  bool responded_ = false;  // the response head was submitted
  bool deferred_ = false;   // the data source waits for bytes
  net::ByteQueue out_;      // the JSON, or the echo's bytes still to send
  std::size_t held_ = 0;
  std::uint64_t repeat_remaining_ = 0;
  GrpcFraming framing_;
};

/// One h2c connection: the codec, the socket's reads and writes (one at a time), the streams.
class H2cStandinSession final : public Session,
                                public std::enable_shared_from_this<H2cStandinSession> {
 public:
  H2cStandinSession(tcp::socket socket, std::shared_ptr<SharedState> shared)
      : socket_(std::move(socket)),
        shared_(std::move(shared)),
        read_buffer_(std::make_unique_for_overwrite<char[]>(kStandinReadSize)) {}
  ~H2cStandinSession() override {
    streams_.clear();
    if (codec_) nghttp2_session_del(codec_);
  }
  H2cStandinSession(const H2cStandinSession&) = delete;
  H2cStandinSession& operator=(const H2cStandinSession&) = delete;

  /// Creates the codec, queues the SETTINGS and starts reading. False if nghttp2 failed.
  bool start();
  void close_from_outside() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  }
  void close();

  // ---- for the streams
  nghttp2_session* codec() { return codec_; }
  const net::StandinIdentity& identity() const { return shared_->identity; }
  void count_request() { shared_->requests_served.fetch_add(1, std::memory_order_relaxed); }
  tcp::socket::executor_type executor() { return socket_.get_executor(); }
  /// `n` bytes of stream `id` were passed on: the client's windows open again after the
  /// codec's current write (not inside its callbacks).
  void consume_later(std::int32_t id, std::size_t n) { consumed_.emplace_back(id, n); }
  /// A stream's step outside the codec's callbacks (after a delay): runs it, then writes.
  void run(std::int32_t id, H2cStandinStream::Step step) {
    if (auto* stream = find(id)) (stream->*step)();
    flush();
  }
  /// Writes what the codec has queued, unless a write is pending (its end flushes again).
  /// Closes the connection when the codec wants neither to read nor to write.
  void flush();

 private:
  friend struct H2cStandinCallbacks;

  H2cStandinStream* find(std::int32_t id) {
    const auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  void do_read();
  void apply_consumed();

  tcp::socket socket_;
  std::shared_ptr<SharedState> shared_;
  nghttp2_session* codec_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<H2cStandinStream>> streams_;
  std::vector<std::pair<std::int32_t, std::size_t>> consumed_;
  std::unique_ptr<char[]> read_buffer_;
  std::string out_;
  bool writing_ = false;
  bool failed_ = false;  // a connection error: what is queued goes out, then the close
  bool closed_ = false;
};

/// nghttp2's callbacks, each handing the event to the session or to one stream.
struct H2cStandinCallbacks {
  static H2cStandinSession& session(void* user_data) {
    return *static_cast<H2cStandinSession*>(user_data);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& self = session(user_data);
    self.streams_.emplace(frame->hd.stream_id,
                          std::make_unique<H2cStandinStream>(self, frame->hd.stream_id));
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                       std::uint8_t, void* user_data) {
    // Request trailers (HEADERS after the body) are dropped.
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto* stream = session(user_data).find(frame->hd.stream_id);
    if (stream != nullptr &&
        !stream->on_field({reinterpret_cast<const char*>(name), name_length},
                          {reinterpret_cast<const char*>(value), value_length})) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM for this stream only
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto* stream = session(user_data).find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      stream->on_head_end(end_stream);
    } else if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
               end_stream) {
      stream->on_end_stream();
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* codec, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void* user_data) {
    return net::deliver_data(codec, session(user_data).find(stream_id), stream_id, data, length);
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t,
                             void* user_data) {
    auto& self = session(user_data);
    const auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return 0;
    // What the echo had not passed on yet still counts against the connection's window.
    if (const std::size_t held = it->second->held(); held > 0) self.consume_later(stream_id, held);
    self.streams_.erase(it);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buffer,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                           void* user_data) {
    auto* stream = session(user_data).find(stream_id);
    if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return stream->read_body(buffer, length, flags);
  }
};

// ---- the session

bool H2cStandinSession::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                          H2cStandinCallbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, H2cStandinCallbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks,
                                                       H2cStandinCallbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            H2cStandinCallbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                         H2cStandinCallbacks::on_stream_close);
  // The client's windows open as the answers pass its bytes on, not as they arrive.
  codec_ = net::new_codec(/*server=*/true, callbacks, this);
  if (codec_ == nullptr) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kStandinMaxStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStandinStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(kStandinHeadLimit)},
  };
  if (nghttp2_submit_settings(codec_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(codec_, NGHTTP2_FLAG_NONE, 0,
                                            kStandinConnectionWindow) != 0) {
    return false;
  }
  do_read();
  flush();
  return true;
}

void H2cStandinSession::do_read() {
  socket_.async_read_some(asio::buffer(read_buffer_.get(), kStandinReadSize),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->close();
                            const auto used = nghttp2_session_mem_recv(
                                self->codec_,
                                reinterpret_cast<const std::uint8_t*>(self->read_buffer_.get()), n);
                            // A broken frame, or no h2c preface at all (an HTTP/1.1 client): what
                            // the codec queued goes out, then the connection closes.
                            if (used < 0) self->failed_ = true;
                            self->flush();
                            if (!self->closed_ && !self->failed_) self->do_read();
                          });
}

void H2cStandinSession::apply_consumed() {
  for (const auto& [id, n] : consumed_) nghttp2_session_consume(codec_, id, n);
  consumed_.clear();
}

void H2cStandinSession::flush() {
  if (writing_ || closed_ || codec_ == nullptr) return;
  out_.clear();
  while (out_.size() < kStandinWriteBatch) {
    apply_consumed();
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(codec_, &data);
    if (n < 0) {
      failed_ = true;
      break;
    }
    if (n > 0) {
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    } else if (consumed_.empty()) {
      break;  // else bytes consumed while serializing may owe the client a WINDOW_UPDATE
    }
  }
  if (out_.empty()) {
    if (failed_ ||
        (nghttp2_session_want_read(codec_) == 0 && nghttp2_session_want_write(codec_) == 0)) {
      close();
    }
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->close();
                      self->flush();
                    });
}

void H2cStandinSession::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  streams_.clear();  // their delays end with them
}

// ---- a stream

H2cStandinStream::H2cStandinStream(H2cStandinSession& session, std::int32_t id)
    : session_(session), id_(id), delay_(session.executor()) {}

std::string_view H2cStandinStream::field(std::string_view name) const {
  for (const auto& [field_name, value] : fields_) {
    if (field_name == name) return value;
  }
  return {};
}

bool H2cStandinStream::on_field(std::string_view name, std::string_view value) {
  head_bytes_ += name.size() + value.size();
  if (head_bytes_ > kStandinHeadLimit) return false;
  if (name == ":method") {
    method_ = value;
  } else if (name == ":path") {
    path_ = value;
  } else if (name == ":authority") {
    authority_ = value;
  } else if (!name.starts_with(':')) {
    fields_.emplace_back(name, value);
  }
  return true;
}

void H2cStandinStream::on_head_end(bool end_stream) {
  grpc_ = core::is_grpc_content_type(field("content-type"));
  request_ended_ = end_stream;
  if (grpc_) return after_delay(&H2cStandinStream::start_grpc);
  if (request_ended_) after_delay(&H2cStandinStream::answer);
}

void H2cStandinStream::on_data(const char* data, std::size_t size) {
  if (!grpc_ || (responded_ && body_ != Body::kGrpcEcho)) {
    // Only counted (or, after a status from the hook, dropped): the window opens at once, so
    // a client still uploading ends its request normally, as albemu's own early answers let it
    // (no RST_STREAM, which curl 7.88 and httpx may take for a failure).
    body_length_ += size;
    nghttp2_session_consume(session_.codec(), id_, size);
    return;
  }
  // Echoed: the bytes wait for the data source, and the client's window opens as they go.
  out_.append({data, size});
  held_ += size;
  framing_.feed({data, size});
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.codec(), id_);
  }
}

void H2cStandinStream::on_end_stream() {
  request_ended_ = true;
  if (!grpc_) return after_delay(&H2cStandinStream::answer);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.codec(), id_);
  }
}

void H2cStandinStream::after_delay(Step step) {
  const auto delay = hook_number(field("x-standin-delay-ms"));
  if (!delay || *delay == 0) return (this->*step)();
  delay_.expires_after(std::chrono::milliseconds(std::min(*delay, kStandinMaxDelayMs)));
  delay_.async_wait([session = session_.shared_from_this(), id = id_, step](error_code ec) {
    if (ec) return;  // the stream or the connection ended meanwhile
    session->run(id, step);
  });
}

void H2cStandinStream::add_identity(net::Http2Fields& fields, bool with_revision) const {
  const auto& identity = session_.identity();
  fields.add("server", "albemu-standin");
  fields.add("date", net::http_date());
  fields.add("x-standin-service", identity.service);
  if (with_revision) fields.add("x-standin-revision", identity.revision);
  if (!identity.tag.empty()) fields.add("x-standin-tag", identity.tag);
}

void H2cStandinStream::answer() {
  session_.count_request();
  const unsigned status = hook_status(field("x-standin-status")).value_or(200);
  const std::string status_text = std::to_string(status);
  const bool bodyless = status == 204 || status == 304 || method_ == "HEAD";
  net::Http2Fields fields;
  fields.add(":status", status_text);
  add_identity(fields, /*with_revision=*/false);
  if (bodyless) return submit(fields, Body::kNone);

  if (const auto bytes = hook_number(field("x-standin-response-bytes"))) {
    fields.add("content-type", "application/octet-stream");
    repeat_remaining_ = *bytes;
    return submit(fields, Body::kRepeated);
  }
  // The head as the service got it: Host stands for :authority, as in HTTP/1.1.
  net::EchoRequest echo;
  echo.method = method_;
  echo.target = path_;
  if (!authority_.empty() && field("host").empty()) echo.headers.emplace_back("host", authority_);
  for (const auto& [name, value] : fields_) echo.headers.emplace_back(name, value);
  echo.body_length = body_length_;
  out_.append(net::echo_json(session_.identity(), echo));
  const std::string length = std::to_string(out_.size());
  fields.add("content-type", "application/json");
  fields.add("content-length", length);
  submit(fields, Body::kText);
}

void H2cStandinStream::start_grpc() {
  session_.count_request();
  net::Http2Fields fields;
  fields.add(":status", "200");
  fields.add("content-type", field("content-type"));
  add_identity(fields, /*with_revision=*/true);
  if (const auto status = grpc_status_code(field("x-standin-grpc-status"))) {
    // Trailers-only: the status is in the one HEADERS frame; what the call sent is dropped.
    const std::string code = std::to_string(*status);
    const std::string message = grpc_percent_encoded(field("x-standin-grpc-message"));
    fields.add("grpc-status", code);
    if (!message.empty()) fields.add("grpc-message", message);
    nghttp2_session_consume(session_.codec(), id_, held_);
    held_ = 0;
    out_.clear();
    return submit(fields, Body::kNone);
  }
  // Messages go back as they came, compressed or not.
  if (const auto encoding = field("grpc-encoding"); !encoding.empty()) {
    fields.add("grpc-encoding", encoding);
  }
  submit(fields, Body::kGrpcEcho);
}

void H2cStandinStream::submit(const net::Http2Fields& fields, Body body) {
  body_ = body;
  responded_ = true;
  nghttp2_data_provider provider{};
  provider.read_callback = H2cStandinCallbacks::read_body;
  if (nghttp2_submit_response(session_.codec(), id_, fields.data(), fields.size(),
                              body == Body::kNone ? nullptr : &provider) != 0) {
    nghttp2_submit_rst_stream(session_.codec(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  }
}

void H2cStandinStream::submit_grpc_trailers() {
  net::Http2Fields trailers;
  if (framing_.at_message_end()) {
    trailers.add("grpc-status", "0");
  } else {
    trailers.add("grpc-status", "13");  // INTERNAL
    trailers.add("grpc-message", "the request ended inside a message");
  }
  nghttp2_submit_trailer(session_.codec(), id_, trailers.data(), trailers.size());
}

ssize_t H2cStandinStream::read_body(std::uint8_t* buffer, std::size_t length,
                                    std::uint32_t* flags) {
  switch (body_) {
    case Body::kRepeated: {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(repeat_remaining_, length));
      std::fill_n(buffer, n, static_cast<std::uint8_t>('x'));
      repeat_remaining_ -= n;
      if (repeat_remaining_ == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    case Body::kGrpcEcho: {
      const std::size_t n = out_.take(buffer, length);
      if (n > 0) {
        held_ -= n;
        session_.consume_later(id_, n);
      }
      if (out_.empty() && request_ended_) {
        // Every message went back: the status follows in trailers.
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        submit_grpc_trailers();
        return static_cast<ssize_t>(n);
      }
      if (n == 0) {
        deferred_ = true;
        return NGHTTP2_ERR_DEFERRED;
      }
      return static_cast<ssize_t>(n);
    }
    case Body::kText:
    case Body::kNone:
    default: {
      const std::size_t n = out_.take(buffer, length);
      if (out_.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
  }
}

// ----

std::shared_ptr<Session> start_h2c_session(tcp::socket socket,
                                           std::shared_ptr<SharedState> shared) {
  auto session = std::make_shared<H2cStandinSession>(std::move(socket), std::move(shared));
  if (!session->start()) {
    session->close();
    return nullptr;
  }
  return session;
}

}  // namespace albemu::standin
