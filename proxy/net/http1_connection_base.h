#pragma once
// The part of an HTTP/1 client connection that does not depend on its stream type: the head
// parser and its checks, the request body's framing, the response's framing and the
// keep-alive decision. Http1Connection<Stream> (http1_connection.cc) adds the reads, writes
// and timers of a plain or a TLS stream.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"
#include "proxy/net/request.h"
#include "proxy/net/request_context.h"
#include "proxy/net/request_stream.h"
#include "proxy/net/worker.h"

namespace albemu::net {

class Http1ConnectionBase : public SessionBase, public RequestStream {
 public:
  ~Http1ConnectionBase() override;

  // ---- RequestStream: what needs no I/O
  Worker& worker() override { return worker_; }
  const ConnectionInfo& connection() const override { return info_; }
  RequestHead& request_head() override { return heads_->request; }
  ResponseHead& response_head() override { return heads_->response; }
  bool body_done() const override { return !body_unread() && prefetched_ == 0; }
  std::optional<std::uint64_t> body_length() const override;
  const char* body_piece() const override { return chunk_.get(); }
  void write_head(ResponseHead& head, std::string_view body, bool end,
                  SizeHandler handler) override;
  void write_body(std::string_view body, bool end, SizeHandler handler) override;
  void write_trailers(const HeadFields& trailers, SizeHandler handler) override;
  std::string_view tunnel_pending() override { return buffer_view(); }
  void tunnel_consumed(std::size_t bytes) override { buffer_.consume(bytes); }

  // ---- SessionBase
  void forget_generation() override { plan_.clear(); }

 protected:
  using error_code = boost::system::error_code;
  using Clock = std::chrono::steady_clock;

  /// An answer written while the request body is still arriving keeps the connection only if
  /// the body left is at most this big (it is read and dropped, as nginx discards it); a
  /// bigger or unannounced one closes the connection with a lingering close.
  static constexpr std::uint64_t kDiscardBodyLimit = 1024 * 1024;
  /// The first read of a request head asks for this much (longer heads take more reads).
  static constexpr std::size_t kIdleReadSize = 1024;

  Http1ConnectionBase(Worker& worker, ConnectionInfo info);

  /// Writes wire_.out to the client (the framed head and body pieces).
  virtual void send_wire(SizeHandler handler) = 0;

  /// The parser of the request being read, lent with the heads: there from a request's first
  /// byte until the connection goes idle.
  bool parsing() const { return heads_ && heads_->request_parser; }
  MessageHeadParser<true>& parser() { return *heads_->request_parser; }
  const MessageHeadParser<true>& parser() const { return *heads_->request_parser; }
  std::string_view buffer_view() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }
  char* chunk_buffer();
  WireBuffers& wire();
  /// Going idle: gives back what only a request in progress needs (the request itself, the
  /// parser, the head storage, the body chunk), so that thousands of idle keepalive
  /// connections cost little memory.
  void release_request_storage();

  /// The client still owes body bytes (the parser has not seen the end).
  bool body_unread() const { return parsing() && parser().is_header_done() && !parser().is_done(); }
  /// Whether the connection can carry another request after an answer written now: the
  /// client asked to keep it, the request did not ask to close, albemu is not draining, and a
  /// body still arriving is one to read and drop.
  bool can_keep_alive() const;
  /// The forwarding rule's keepalive timeout: the one of the request's generation during a
  /// request, the current generation's between requests.
  Clock::duration keepalive_timeout();

  // ---- the request head
  /// A fresh parser for the next head.
  void prepare_head();
  /// Feeds the buffered bytes to the parser; need_more asks for more bytes.
  error_code parse_buffered_head();
  /// A head is parsed (or failed with `ec`): starts its request. False if the connection is
  /// done instead (the client closed, a socket error): nobody to answer.
  bool on_head_parsed(error_code ec);

  // ---- the request body
  /// Parses the buffered bytes into the body buffer; need_more asks for more bytes.
  error_code parse_buffered_body();

  Worker& worker_;
  ConnectionInfo info_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<MessageHeads> heads_;  // the worker's, lent while a request is read or answered
  std::unique_ptr<char[]> chunk_;        // request body pieces, lent by the worker
  std::unique_ptr<WireBuffers> wire_;    // the worker's, lent while a response is written
  std::size_t head_bytes_ = 0;           // head bytes the parser has taken so far
  unsigned version_ = 11;                // of the request, and so of its response
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool keep_alive_ = false;      // decided when the response head is written
  bool body_malformed_ = false;  // the parser refused the request body (bad chunk framing)
  std::size_t prefetched_ = 0;   // body bytes in the chunk that read_body has not handed out
  std::uint64_t discarded_ = 0;  // body bytes read and dropped after the answer
  bool in_request_ = false;      // from a request's first byte until the connection goes on
  bool draining_ = false;
  bool closed_ = false;
  bool client_keep_alive_ = true;
  bool response_chunked_ = false;
  /// The worker's, lent from a request's head to the connection going idle (or closing).
  std::unique_ptr<Request> request_;
  bool request_active() const { return request_ && request_->active(); }

 private:
  bool skip_empty_lines();
  bool prefetch_body();
  void begin_request();
  PlanCache::Plan current_plan() { return plan_.get(worker_, info_.forwarding_rule); }

  std::size_t skipped_empty_lines_ = 0;  // CRLF bytes dropped before the request line
  PlanCache plan_;
};

}  // namespace albemu::net
