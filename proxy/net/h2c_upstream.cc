#include "proxy/net/h2c_upstream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <charconv>
#include <cstring>

#include "proxy/core/proxy_error.h"
#include "proxy/net/h2c_connection.h"
#include "proxy/net/http2_codec.h"
#include "proxy/net/worker.h"

namespace albemu::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

/// nghttp2's callbacks for an h2c connection; each hands the event to one stream.
struct H2cCallbacks {
  static H2cConnection& connection(void* user_data) {
    return *static_cast<H2cConnection*>(user_data);
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                       std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (auto* stream = connection(user_data).find(frame->hd.stream_id)) {
      stream->on_field({reinterpret_cast<const char*>(name), name_length},
                       {reinterpret_cast<const char*>(value), value_length},
                       frame->headers.cat == NGHTTP2_HCAT_HEADERS);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& self = connection(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self.going_away_ = true;
      return 0;
    }
    auto* stream = self.find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      stream->on_head_end(end_stream);
    } else if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
               end_stream) {
      stream->on_end_stream();
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* codec, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void* user_data) {
    return deliver_data(codec, connection(user_data).find(stream_id), stream_id, data, length);
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error,
                             void* user_data) {
    auto& self = connection(user_data);
    if (auto* stream = self.find(stream_id)) {
      self.forget(stream_id);
      stream->on_closed(error);
    }
    return 0;
  }

  static ssize_t read_request(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buffer,
                              std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                              void* user_data) {
    auto* stream = connection(user_data).find(stream_id);
    if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return stream->read_request(buffer, length, flags);
  }
};

bool H2cConnection::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(callbacks, H2cCallbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, H2cCallbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, H2cCallbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, H2cCallbacks::on_stream_close);
  codec_ = new_codec(/*server=*/false, callbacks, this);
  if (codec_ == nullptr) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kH2cStreamWindow)},
  };
  if (nghttp2_submit_settings(codec_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(codec_, NGHTTP2_FLAG_NONE, 0, kH2cConnectionWindow) !=
          0) {
    return false;
  }
  read();
  flush();
  return true;
}

void H2cConnection::read() {
  socket_->socket().async_read_some(
      asio::buffer(read_buffer_.get(), kH2cReadSize),
      [self = shared_from_this()](error_code ec, std::size_t n) {
        if (self->closed_) return;
        if (ec) return self->fail();
        const auto used = nghttp2_session_mem_recv(
            self->codec_, reinterpret_cast<const std::uint8_t*>(self->read_buffer_.get()), n);
        if (used < 0) return self->fail();
        self->flush();
        if (!self->closed_) self->read();
      });
}

void H2cConnection::flush() {
  if (writing_ || closed_) return;
  out_.clear();
  while (out_.size() < kH2cWriteBatch) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(codec_, &data);
    if (n <= 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  if (out_.empty()) {
    if (nghttp2_session_want_read(codec_) == 0 && nghttp2_session_want_write(codec_) == 0) {
      fail();
    }
    return;
  }
  writing_ = true;
  asio::async_write(socket_->socket(), asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->fail();
                      self->flush();
                    });
}

void H2cConnection::fail() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->on_closed(NGHTTP2_INTERNAL_ERROR);
  close();
}

void H2cConnection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_->socket().close(ignored);
  pool_.remove(this);
}

// ---- H2cUpstream

H2cUpstream::H2cUpstream(Worker& worker, std::shared_ptr<H2cConnection> connection, bool reused)
    : worker_(worker), connection_(std::move(connection)), reused_(reused) {
  connection_->reserve();
}

H2cUpstream::~H2cUpstream() {
  if (id_ == 0) {
    connection_->unreserve();
  } else {
    cancel_stream();
    connection_->forget(id_);
  }
  worker_.give_back_chunk(std::move(chunk_));
}

template <class Fn>
void H2cUpstream::post(Fn fn) {
  asio::post(worker_.io_context(),
             [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(); });
}

void H2cUpstream::send_head(RequestHead& head, std::optional<std::uint64_t>, std::string_view body,
                            bool end, SizeHandler handler) {
  if (interrupted_ || !connection_->open()) {
    return post(
        [handler = std::move(handler)]() mutable { handler(asio::error::operation_aborted, 0); });
  }
  Http2Fields fields;
  fields.add(":method", head.method_string());
  fields.add(":scheme", "http");
  fields.add(":authority", head[http::field::host]);
  fields.add(":path", head.target());
  fields.add_all(head, /*drop_host=*/true);
  // TE is hop by hop, so the client's "te: trailers" did not come this far; gRPC services
  // require it.
  if (core::is_grpc_content_type(head[http::field::content_type])) fields.add("te", "trailers");
  out_body_.clear();
  out_body_.append(body);
  out_end_ = end;
  pending_send_ = std::move(handler);
  pending_send_size_ = body.size() + 1;  // some bytes went out: not "nothing sent"
  nghttp2_data_provider provider{};
  provider.read_callback = H2cCallbacks::read_request;
  const auto id =
      nghttp2_submit_request(connection_->codec(), nullptr, fields.data(), fields.size(),
                             end && body.empty() ? nullptr : &provider, nullptr);
  if (id < 0) {
    auto failed = std::move(pending_send_);
    pending_send_ = nullptr;
    return post(
        [failed = std::move(failed)]() mutable { failed(asio::error::connection_reset, 0); });
  }
  id_ = id;
  connection_->opened(id_, this);
  if (end && body.empty()) complete_send({});
  connection_->flush();
}

void H2cUpstream::send_body(std::string_view piece, bool end, Handler handler) {
  if (interrupted_ || sending_stopped_ || closed_) {
    return post(
        [handler = std::move(handler)]() mutable { handler(asio::error::operation_aborted); });
  }
  out_body_.append(piece);
  out_end_ = end;
  pending_send_ = [handler = std::move(handler)](error_code ec, std::size_t) mutable {
    handler(ec);
  };
  pending_send_size_ = piece.size();
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(connection_->codec(), id_);
  }
  connection_->flush();
}

long H2cUpstream::read_request(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags) {
  if (sending_stopped_) {
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::size_t n = out_body_.take(buffer, length);
  if (!out_body_.empty()) return static_cast<long>(n);
  if (out_end_) *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (pending_send_) complete_send({});
  if (n == 0 && !out_end_) {
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<long>(n);
}

void H2cUpstream::complete_send(error_code ec) {
  auto handler = std::move(pending_send_);
  pending_send_ = nullptr;
  const std::size_t n = std::exchange(pending_send_size_, 0);
  post([handler = std::move(handler), ec, n]() mutable { handler(ec, n); });
}

void H2cUpstream::stop_sending() {
  sending_stopped_ = true;
  if (pending_send_) complete_send(asio::error::operation_aborted);
}

// ---- the response

void H2cUpstream::on_field(std::string_view name, std::string_view value, bool trailer) {
  response_started_ = true;
  if (trailer || head_done_) {
    if (!trailers_) trailers_.emplace();
    trailers_->insert(name, value);
    return;
  }
  if (name == ":status") {
    std::from_chars(value.data(), value.data() + value.size(), status_);
  } else if (!name.starts_with(':')) {
    head_.insert(name, value);
  }
}

void H2cUpstream::on_head_end(bool end_stream) {
  if (status_ / 100 == 1) {  // an interim answer (100, 103): dropped
    head_.clear();
    status_ = 0;
    return;
  }
  head_done_ = true;
  if (end_stream) remote_ended_ = true;
  if (pending_head_) deliver_head();
}

void H2cUpstream::receive_head(ResponseHead& head, bool, Handler handler) {
  response_ = &head;
  pending_head_ = std::move(handler);
  if (head_done_ || closed_ || interrupted_) deliver_head();
}

void H2cUpstream::deliver_head() {
  auto handler = std::move(pending_head_);
  pending_head_ = nullptr;
  if (interrupted_) {
    return post(
        [handler = std::move(handler)]() mutable { handler(asio::error::operation_aborted); });
  }
  if (!head_done_) {
    const error_code ec = error_ ? error_ : error_code(asio::error::connection_reset);
    return post([handler = std::move(handler), ec]() mutable { handler(ec); });
  }
  head_.start_response(status_, {}, 11);
  *response_ = head_;
  post([handler = std::move(handler)]() mutable { handler({}); });
}

std::optional<std::uint64_t> H2cUpstream::response_length() const {
  const auto it = head_.find(http::field::content_length);
  if (it == head_.end()) return std::nullopt;
  std::uint64_t length = 0;
  const std::string_view value = it->value();
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return length;
}

void H2cUpstream::on_data(const char* data, std::size_t size) {
  in_body_.append({data, size});
  if (pending_body_) deliver_body();
}

void H2cUpstream::on_end_stream() {
  remote_ended_ = true;
  if (pending_body_) deliver_body();
}

bool H2cUpstream::body_ready() const { return !in_body_.empty() || remote_ended_ || closed_; }

void H2cUpstream::receive_body(BodyHandler handler) {
  if (interrupted_) {
    return post([handler = std::move(handler)]() mutable {
      handler(asio::error::operation_aborted, 0, false);
    });
  }
  pending_body_ = std::move(handler);
  // Completes inline when a piece (or the end) is here, as the interface says.
  if (body_ready()) {
    auto ready = std::move(pending_body_);
    pending_body_ = nullptr;
    if (in_body_.empty()) {
      if (remote_ended_) return ready({}, 0, true);
      return ready(asio::error::connection_reset, 0, false);
    }
    if (!chunk_) chunk_ = worker_.take_chunk();
    const std::size_t n = in_body_.take(chunk_.get(), kBodyChunkSize);
    nghttp2_session_consume(connection_->codec(), id_, n);
    connection_->flush();
    return ready({}, n, remote_ended_ && in_body_.empty());
  }
}

void H2cUpstream::deliver_body() {
  auto handler = std::move(pending_body_);
  pending_body_ = nullptr;
  post([this, handler = std::move(handler)]() mutable { receive_body(std::move(handler)); });
}

const HeadFields* H2cUpstream::trailers() const {
  return trailers_ && trailers_->size() > 0 ? &*trailers_ : nullptr;
}

void H2cUpstream::on_closed(std::uint32_t error) {
  closed_ = true;
  // A clean close after the whole response is its end; anything else cuts it short.
  if (error != NGHTTP2_NO_ERROR || !remote_ended_) {
    remote_ended_ = false;
    // REFUSED_STREAM (sent, or nghttp2's for a stream above the service's GOAWAY) means the
    // service processed none of it: the exchange may retry it under `refused-stream`.
    error_ = error == NGHTTP2_REFUSED_STREAM && !response_started_ ? asio::error::connection_refused
                                                                   : asio::error::connection_reset;
  }
  if (pending_send_) complete_send(error_ ? error_ : asio::error::operation_aborted);
  if (pending_head_) deliver_head();
  if (pending_body_) deliver_body();
}

void H2cUpstream::fail_pending(error_code ec) {
  if (pending_send_) complete_send(ec);
  if (pending_head_) {
    auto handler = std::move(pending_head_);
    pending_head_ = nullptr;
    post([handler = std::move(handler), ec]() mutable { handler(ec); });
  }
  if (pending_body_) {
    auto handler = std::move(pending_body_);
    pending_body_ = nullptr;
    post([handler = std::move(handler), ec]() mutable { handler(ec, 0, false); });
  }
}

void H2cUpstream::interrupt() {
  interrupted_ = true;
  cancel_stream();
  fail_pending(asio::error::operation_aborted);
}

void H2cUpstream::release() {
  cancel_stream();
  fail_pending(asio::error::operation_aborted);
}

void H2cUpstream::cancel_stream() {
  if (id_ == 0 || closed_) return;
  closed_ = true;
  nghttp2_submit_rst_stream(connection_->codec(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
  connection_->forget(id_);
  connection_->flush();
}

void H2cUpstream::read_tunnel(char*, std::size_t, Deadline, SizeHandler handler) {
  post([handler = std::move(handler)]() mutable {
    handler(asio::error::operation_not_supported, 0);
  });
}

void H2cUpstream::write_tunnel(const char*, std::size_t, Deadline, SizeHandler handler) {
  post([handler = std::move(handler)]() mutable {
    handler(asio::error::operation_not_supported, 0);
  });
}

}  // namespace albemu::net
