#include "proxy/net/http2_stream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <cstring>
#include <vector>

#include "proxy/net/http2_codec.h"
#include "proxy/net/http2_session.h"

namespace albemu::net {

namespace http = boost::beast::http;
using boost::system::error_code;

Http2Stream::Http2Stream(Http2Session& session, std::int32_t id)
    : session_(session),
      session_keepalive_(session.keepalive()),
      id_(id),
      request_(*this),
      heads_(session.worker().take_heads()) {
  heads_->request.clear();
  heads_->response.clear();
}

Http2Stream::~Http2Stream() {
  if (request_.active()) request_.detach();
  Worker& worker = session_.worker();
  worker.give_back_heads(std::move(heads_));
  worker.give_back_chunk(std::move(chunk_));
}

Worker& Http2Stream::worker() { return session_.worker(); }
const ConnectionInfo& Http2Stream::connection() const { return session_.info(); }

// ---- the request head

void Http2Stream::on_field(std::string_view name, std::string_view value) {
  head_bytes_ += name.size() + value.size() + 32;  // HPACK's size of a field (RFC 7541 4.1)
  if (head_bytes_ > kHeaderLimitBytes || heads_->request.size() >= kMaxHeaderCount) {
    head_too_large_ = true;
    return;
  }
  // nghttp2 has checked the names and values (RFC 9113 8.2.1, 8.3): lowercase names, no
  // connection-specific field, pseudo-fields first and known.
  if (name == ":method") {
    method_.assign(value);
  } else if (name == ":path") {
    path_.assign(value);
  } else if (name == ":authority") {
    authority_.assign(value);
  } else if (name.starts_with(':')) {
    // :scheme (the connection says whether it is https) and :protocol
  } else if (name == "cookie") {
    if (!cookies_.empty()) cookies_.append("; ");
    cookies_.append(value);
  } else {
    heads_->request.insert(name, value);
  }
}

void Http2Stream::on_head(const PlanCache::Plan& plan, bool end_stream) {
  head_done_ = true;
  remote_ended_ = end_stream;
  RequestHead& head = heads_->request;
  const http::verb method = http::string_to_verb(method_);
  head.start_request(method, method_, path_, 20);
  // :authority stands for Host (RFC 9113 8.3.1): an HTTP/1 hop gets it as Host.
  if (!authority_.empty()) head.set(http::field::host, authority_);
  if (!cookies_.empty()) head.set(http::field::cookie, cookies_);
  if (const auto it = head.find(http::field::content_length); it != head.end()) {
    std::uint64_t length = 0;
    const std::string_view value = it->value();
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc() && end == value.data() + value.size()) body_length_ = length;
  }
  if (end_stream) body_length_ = 0;
  request_.begin(session_.worker().generation(), plan.first, plan.second, head_bytes_);
  if (head_too_large_) return request_.reject(core::ProxyError::kRequestHeaderTooLarge);
  if (method == http::verb::connect) return request_.reject_connect();
  request_.start();
}

// ---- the request body

void Http2Stream::on_data(const char* data, std::size_t size) {
  if (ended_ || !head_done_) {
    // Nobody reads it any more: the client's window opens again at once.
    nghttp2_session_consume(session_.codec(), id_, size);
    return;
  }
  in_body_.append({data, size});
  if (pending_read_) deliver_body();
}

void Http2Stream::on_end_stream() {
  remote_ended_ = true;
  if (pending_read_) deliver_body();
}

void Http2Stream::read_body(SizeHandler handler) {
  pending_read_ = std::move(handler);
  if (!in_body_.empty() || remote_ended_ || closed_) deliver_body();
}

void Http2Stream::deliver_body() {
  auto handler = std::move(pending_read_);
  pending_read_ = nullptr;
  if (in_body_.empty()) {
    if (remote_ended_) return post(std::move(handler), {}, 0);
    return post(std::move(handler), boost::asio::error::connection_reset, 0);
  }
  if (!chunk_) chunk_ = session_.worker().take_chunk();
  const std::size_t n = in_body_.take(chunk_.get(), kBodyChunkSize);
  nghttp2_session_consume(session_.codec(), id_, n);
  session_.flush();  // the WINDOW_UPDATE
  post(std::move(handler), {}, n);
}

void Http2Stream::post(SizeHandler handler, error_code ec, std::size_t n) {
  boost::asio::post(session_.worker().io_context(),
                    [self = shared_from_this(), handler = std::move(handler), ec, n]() mutable {
                      handler(ec, n);
                    });
}

// ---- the response

namespace {

long read_response_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                        std::uint32_t* flags, nghttp2_data_source* source, void*) {
  return static_cast<Http2Stream*>(source->ptr)->read_response(buffer, length, flags);
}

}  // namespace

void Http2Stream::write_head(ResponseHead& head, std::string_view body, bool end,
                             SizeHandler handler) {
  if (closed_) return post(std::move(handler), boost::asio::error::connection_reset, 0);
  const unsigned status = head.result_int();
  const bool no_body =
      request_.context().is_head || status / 100 == 1 || status == 204 || status == 304;
  if (no_body) {
    body = {};
    end = true;
  }
  char digits[4] = {static_cast<char>('0' + status / 100 % 10),
                    static_cast<char>('0' + status / 10 % 10), static_cast<char>('0' + status % 10),
                    0};
  Http2Fields nv;
  nv.add(":status", std::string_view(digits, 3));
  nv.add_all(head);
  head_sent_ = true;
  out_body_.clear();
  out_body_.append(body);
  out_end_ = end;
  pending_write_ = std::move(handler);
  pending_write_size_ = body.size();
  int rv = 0;
  if (end && body.empty()) {
    rv = nghttp2_submit_response(session_.codec(), id_, nv.data(), nv.size(), nullptr);
  } else {
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = read_response_body;
    rv = nghttp2_submit_response(session_.codec(), id_, nv.data(), nv.size(), &provider);
  }
  if (rv != 0) {
    auto failed = std::move(pending_write_);
    pending_write_ = nullptr;
    return post(std::move(failed), boost::asio::error::connection_reset, 0);
  }
  if (end && body.empty()) complete_write();
  session_.flush();
}

void Http2Stream::write_body(std::string_view body, bool end, SizeHandler handler) {
  if (closed_) return post(std::move(handler), boost::asio::error::connection_reset, 0);
  out_body_.append(body);
  out_end_ = end;
  pending_write_ = std::move(handler);
  pending_write_size_ = body.size();
  resume_data();
}

void Http2Stream::write_trailers(const HeadFields& trailers, SizeHandler handler) {
  if (closed_) return post(std::move(handler), boost::asio::error::connection_reset, 0);
  trailers_ = trailers;
  out_end_ = true;
  pending_write_ = std::move(handler);
  pending_write_size_ = 0;
  resume_data();
}

void Http2Stream::resume_data() {
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(session_.codec(), id_);
  }
  session_.flush();
}

long Http2Stream::read_response(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags) {
  const std::size_t n = out_body_.take(buffer, length);
  if (!out_body_.empty()) return static_cast<long>(n);
  if (!out_end_) {
    if (pending_write_) complete_write();
    if (n > 0) return static_cast<long>(n);
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (trailers_) {
    *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    Http2Fields nv;
    nv.add_all(*trailers_);
    nghttp2_submit_trailer(session_.codec(), id_, nv.data(), nv.size());
    trailers_.reset();
  }
  if (pending_write_) complete_write();
  return static_cast<long>(n);
}

void Http2Stream::complete_write() {
  auto handler = std::move(pending_write_);
  pending_write_ = nullptr;
  post(std::move(handler), {}, std::exchange(pending_write_size_, 0));
}

void Http2Stream::reset() {
  if (closed_) return;
  nghttp2_submit_rst_stream(session_.codec(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  session_.flush();
}

void Http2Stream::request_done() {
  ended_ = true;
  // What the client still sends is no one's any more: its window must not stay shut.
  if (!in_body_.empty()) nghttp2_session_consume(session_.codec(), id_, in_body_.size());
  in_body_.clear();
  // An answer complete before the client's body ended: the rest of the body is read and
  // dropped (on_data) rather than refused with RST_STREAM(NO_ERROR), which RFC 9113 8.1
  // allows but clients busy sending (httpx, say) take for a failure and never read the answer.
  session_.request_ended(id_);
}

void Http2Stream::on_closed(std::uint32_t error) {
  closed_ = true;
  if (pending_read_) {
    // A reset: the body is cut short.
    if (error != NGHTTP2_NO_ERROR) remote_ended_ = false;
    deliver_body();
  }
  if (pending_write_) {
    auto handler = std::move(pending_write_);
    pending_write_ = nullptr;
    post(std::move(handler), boost::asio::error::connection_reset, 0);
  }
  if (request_.active() && (error != NGHTTP2_NO_ERROR || !head_sent_ || !out_end_)) {
    boost::asio::post(session_.worker().io_context(), [self = shared_from_this()] {
      if (self->request_.active()) self->request_.abort();
    });
  }
}

void Http2Stream::read_tunnel(char*, std::size_t, Deadline, SizeHandler handler) {
  post(std::move(handler), boost::asio::error::operation_not_supported, 0);
}

void Http2Stream::write_tunnel(const char*, std::size_t, Deadline, SizeHandler handler) {
  post(std::move(handler), boost::asio::error::operation_not_supported, 0);
}

}  // namespace albemu::net
