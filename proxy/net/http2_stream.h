#pragma once
// One HTTP/2 stream of a client connection (http2_session.h): the RequestStream of the one
// Request it carries. The head comes from HEADERS (the pseudo-fields turned into the request
// line and Host), the body from DATA frames, consumed (and the client's window opened again)
// only as the request reads it; the response goes out as HEADERS, DATA and trailing HEADERS.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/net/http2_codec.h"
#include "proxy/net/request.h"
#include "proxy/net/request_stream.h"

namespace albemu::net {

class Http2Session;

class Http2Stream final : public RequestStream, public std::enable_shared_from_this<Http2Stream> {
 public:
  Http2Stream(Http2Session& session, std::int32_t id);
  ~Http2Stream();
  Http2Stream(const Http2Stream&) = delete;
  Http2Stream& operator=(const Http2Stream&) = delete;

  std::int32_t id() const { return id_; }
  bool request_active() const { return request_.active(); }

  // ---- from the codec (Http2Session's callbacks)
  /// A field of the request head; false: the stream is refused (the codec resets it).
  void on_field(std::string_view name, std::string_view value);
  /// The request head is complete; `end_stream`: no body follows.
  void on_head(const PlanCache::Plan& plan, bool end_stream);
  void on_data(const char* data, std::size_t size);
  /// The client's side ended (END_STREAM).
  void on_end_stream();
  /// The codec closed the stream (`error`: an HTTP/2 error code, 0 for a clean end).
  void on_closed(std::uint32_t error);
  /// nghttp2's data source: copies up to `length` response body bytes to `buffer`.
  long read_response(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags);
  bool closed() const { return closed_; }
  bool ended() const { return ended_; }

  // ---- RequestStream
  Worker& worker() override;
  const ConnectionInfo& connection() const override;
  RequestHead& request_head() override { return heads_->request; }
  ResponseHead& response_head() override { return heads_->response; }
  std::shared_ptr<void> keepalive() override { return shared_from_this(); }
  bool body_done() const override { return remote_ended_ && in_body_.empty(); }
  std::optional<std::uint64_t> body_length() const override { return body_length_; }
  void read_body(SizeHandler handler) override;
  const char* body_piece() const override { return chunk_.get(); }
  void write_head(ResponseHead& head, std::string_view body, bool end,
                  SizeHandler handler) override;
  void write_body(std::string_view body, bool end, SizeHandler handler) override;
  void write_trailers(const HeadFields& trailers, SizeHandler handler) override;
  void reset() override;
  void request_done() override;

  // ---- TunnelIo: HTTP/2 carries no upgrade (no WebSocket over HTTP/2 here)
  std::string_view tunnel_pending() override { return {}; }
  void tunnel_consumed(std::size_t) override {}
  void read_tunnel(char*, std::size_t, Deadline, SizeHandler handler) override;
  void write_tunnel(const char*, std::size_t, Deadline, SizeHandler handler) override;

 private:
  /// Hands the next piece of the buffered body to the pending read.
  void deliver_body();
  /// Runs `handler(ec, n)` from the worker's queue (never inline).
  void post(SizeHandler handler, boost::system::error_code ec, std::size_t n);
  /// The body queued for the codec was taken whole: the pending write completes.
  void complete_write();
  void resume_data();

  Http2Session& session_;
  std::shared_ptr<void> session_keepalive_;
  std::int32_t id_;
  Request request_;
  std::unique_ptr<MessageHeads> heads_;  // the worker's, lent for the stream's life

  // The request head as it arrives.
  std::string method_;
  std::string path_;
  std::string authority_;
  std::string cookies_;  // HTTP/2 may split Cookie; HTTP/1 wants one field (RFC 9113 8.2.3)
  std::size_t head_bytes_ = 0;
  bool head_too_large_ = false;
  bool head_done_ = false;

  // The request body: received, not yet read by the request.
  std::optional<std::uint64_t> body_length_;
  ByteQueue in_body_;
  std::unique_ptr<char[]> chunk_;  // the piece handed out, lent by the worker
  SizeHandler pending_read_;
  bool remote_ended_ = false;

  // The response.
  ByteQueue out_body_;  // queued for the codec
  bool out_end_ = false;
  bool head_sent_ = false;
  bool data_deferred_ = false;  // the data source said DEFERRED: resume when more is queued
  std::optional<HeadFields> trailers_;
  SizeHandler pending_write_;
  std::size_t pending_write_size_ = 0;

  bool closed_ = false;  // the codec closed the stream
  bool ended_ = false;   // the request ended (request_done)
};

}  // namespace albemu::net
