#pragma once
// One request forwarded to a backend (or answered by the built-in stand-in): connect through
// the worker's pool, send the transformed head, stream the body in bounded chunks, read the
// response head, transform it, stream the response body back, retry when the route says so,
// and tunnel bytes after a WebSocket 101. Not a template: the client side is reached through
// ExchangeHost, implemented by the downstream session for plain and TLS streams alike.

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/core/proxy_error.h"
#include "proxy/net/exchange.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"

namespace albemu::net {

/// What the exchange serializes into and writes from. Owned by the client connection, so the
/// buffers keep their capacity from one request to the next.
struct WireBuffers {
  std::string request_head;                    // the upstream request head
  std::string response_head;                   // the client response head
  std::vector<boost::asio::const_buffer> out;  // the gathered write in progress
};

/// The client side of an exchange. All calls and handlers run on the worker thread.
class ExchangeHost {
 public:
  using BodyHandler = std::function<void(boost::beast::error_code)>;
  using SizeHandler = std::function<void(boost::beast::error_code, std::size_t)>;

  virtual Worker& worker() = 0;
  virtual RequestContext& context() = 0;
  virtual const ConnectionInfo& connection() = 0;
  virtual MessageHeadParser<true>& request_parser() = 0;
  /// Where the backend's response head is parsed to.
  virtual ResponseHead& response_head() = 0;
  /// A kBodyChunkSize scratch buffer owned by the connection.
  virtual char* chunk() = 0;
  virtual WireBuffers& wire() = 0;
  virtual boost::beast::flat_buffer& client_buffer() = 0;

  /// Whether every byte of the request body was handed out by read_request_body (true for a
  /// request without a body).
  virtual bool request_body_done() = 0;
  /// Reads the next piece of the request body into chunk(); the handler gets its size (0 is
  /// possible short of the end, e.g. a chunk header alone).
  virtual void read_request_body(SizeHandler handler) = 0;
  /// Writes 100 Continue (ctx.continue_sent records it).
  virtual void send_continue(BodyHandler handler) = 0;
  /// Whether the connection can carry another request after an answer written now: the
  /// client asked to keep it, albemu is not draining, and a request body still arriving is
  /// one the connection can read and drop (see finish_request in downstream_session.cc).
  virtual bool can_keep_alive() = 0;
  /// Writes all of `buffers` (response head and body bytes, already framed) to the client.
  /// The buffers and what they point to stay valid until the handler runs. On a plain
  /// connection the handler may run before this call returns (write_eager, socket_io.h), on
  /// TLS never: a caller must do nothing after the call.
  virtual void write_client(const std::vector<boost::asio::const_buffer>& buffers,
                            SizeHandler handler) = 0;
  virtual void read_tunnel(char* data, std::size_t size,
                           std::chrono::steady_clock::time_point deadline, SizeHandler handler) = 0;
  virtual void write_tunnel(const char* data, std::size_t size,
                            std::chrono::steady_clock::time_point deadline,
                            SizeHandler handler) = 0;

  /// The exchange ended; the response was written completely.
  virtual void exchange_done(bool keep_alive) = 0;
  /// The exchange failed before any response byte was written: answer `error`.
  virtual void send_error(core::ProxyError error, int configured_status) = 0;
  /// The built-in stand-in answered: write `response` (response transforms still apply).
  virtual void send_local_response(LocalResponse&& response) = 0;
  /// The client side failed, or a response was cut short: close the connection.
  virtual void exchange_aborted() = 0;
  /// Closes the client connection now (a tunnel ended).
  virtual void close_client() = 0;

 protected:
  ~ExchangeHost() = default;
};

class UpstreamExchange : public std::enable_shared_from_this<UpstreamExchange> {
 public:
  /// `host_keepalive` keeps the client session alive as long as the exchange runs.
  UpstreamExchange(ExchangeHost& host, std::shared_ptr<void> host_keepalive);
  ~UpstreamExchange();

  /// Starts after routing, resolving and policies have run (ctx.target is set).
  void start();
  /// Worker thread. Closes the upstream connection; pending steps end with errors.
  void cancel();

 private:
  using Request = RequestHead;
  using Response = ResponseHead;

  void prepare_upstream_request();
  void serve_standin();
  void read_standin_body();
  void maybe_continue(ExchangeHost::BodyHandler next);
  void buffer_body_for_retry();
  void restart_deadline();
  /// Bounds the upstream operations that follow by `deadline`: when it passes, they are
  /// cancelled and report beast::error::timeout (see timeout_aware). One timer per exchange,
  /// re-armed only when the deadline moves.
  void arm_deadline(std::chrono::steady_clock::time_point deadline);
  void disarm_deadline();
  boost::beast::error_code timeout_aware(boost::beast::error_code ec) const;
  void do_attempt();
  void on_connect(boost::beast::error_code ec, UpstreamConnection connection);
  void write_request_head();
  void relay_request_body();
  void watch_for_early_response();
  void read_response_head();
  void parse_response_head();
  void on_response_head(boost::beast::error_code ec);
  void attempt_failed(core::ProxyError error, bool retriable);
  void start_response();
  void relay_response_body();
  void on_response_piece(boost::beast::error_code ec, std::size_t n);
  /// Queues `size` body bytes at `data` in out_, chunk-framed when `chunked`; `last` adds the
  /// end of a chunked body.
  void frame_body(const char* data, std::size_t size, bool chunked, bool last);
  void finish(bool keep_alive);
  void response_cut_short(core::ProxyError error);
  void start_tunnel();
  void tunnel_client_to_backend();
  void tunnel_backend_to_client();
  void end_tunnel();

  ExchangeHost& host_;
  std::shared_ptr<void> host_keepalive_;
  RequestContext& ctx_;
  /// The client's request, turned into the upstream request in place (prepare_upstream_request).
  Request& request() { return host_.request_parser().get(); }
  /// The backend's response, turned into the client response in place (start_response).
  Response& response() { return response_parser_->get(); }

  WireBuffers& wire_;
  unsigned client_version_ = 11;  // the client request's HTTP version (10 or 11)
  bool request_chunked_ = false;
  std::unique_ptr<UpstreamStream> upstream_;
  bool upstream_reused_ = false;
  boost::beast::flat_buffer upstream_buffer_;
  std::optional<MessageHeadParser<false>> response_parser_;
  bool response_head_pending_ = false;  // not written yet: goes out with the first body bytes
  bool response_chunked_ = false;
  ChunkHeader chunk_header_{0};               // framing of the chunk in wire_.out
  std::optional<std::string> buffered_body_;  // set when retries are possible
  Endpoint endpoint_;
  bool replayable_ = false;  // the request can be sent again (no body, or buffered)
  bool idempotent_ = false;  // its method may be sent twice without the client asking
  bool keep_alive_ = false;  // the client connection survives this exchange
  bool request_sent_ = false;
  bool watching_ = false;             // watch_for_early_response's read is pending
  bool head_wanted_ = false;          // read_response_head waits for that read to end
  bool early_response_ = false;       // the backend answered before the body was sent
  bool body_write_pending_ = false;   // a request body piece is being written to the backend
  bool client_read_pending_ = false;  // a request body piece is being read from the client
  std::size_t standin_body_length_ = 0;
  std::chrono::steady_clock::time_point attempt_deadline_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    boost::asio::io_context::executor_type>
      deadline_timer_;
  std::chrono::steady_clock::time_point armed_deadline_;
  bool deadline_armed_ = false;
  bool timed_out_ = false;            // the deadline passed; pending operations were cancelled
  uint64_t deadline_generation_ = 0;  // tells a stale expiry from the current one
  std::unique_ptr<char[]> tunnel_buffer_;
  bool tunnel_closing_ = false;
  bool cancelled_ = false;
  std::weak_ptr<PendingAcquire> pending_acquire_;  // reached by cancel()
};

}  // namespace albemu::net
