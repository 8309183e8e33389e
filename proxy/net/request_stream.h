#pragma once
// The client side of one request, as the protocol-neutral request (request.h) and the upstream
// exchange see it: read a body piece, write a response head, write a body piece, write
// trailers, reset. The HTTP/1 connection (http1_connection.cc) implements it for the one
// request it carries at a time; an HTTP/2 stream implements it for one stream of many.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "proxy/net/message_head.h"
#include "proxy/net/tunnel_io.h"

namespace albemu::net {

/// Whether a read_body error is the client's fault: the body's framing broke (HTTP/1 reports
/// the parser's error codes), rather than the connection.
bool is_malformed_body(const boost::system::error_code& ec);

class Worker;
struct ConnectionInfo;

/// Every call and every handler runs on the stream's worker thread. A write handler may run
/// before the write call returns (a plain socket that took every byte at once): a caller must
/// do nothing after the call that the handler may have changed. Read handlers never run inline.
/// After a 101, the stream is the client end of the tunnel (TunnelIo).
class RequestStream : public TunnelIo {
 public:
  virtual Worker& worker() = 0;
  virtual const ConnectionInfo& connection() const = 0;
  /// The request's head, as received and checked. The exchange turns it into the upstream
  /// request's head in place.
  virtual RequestHead& request_head() = 0;
  /// Storage for the response head, lent for the request.
  virtual ResponseHead& response_head() = 0;
  /// Keeps the stream, and what holds it, alive while a step of its request is pending.
  virtual std::shared_ptr<void> keepalive() = 0;

  // ---- the request body

  /// Whether read_body handed out every byte of the body (true for a request without one).
  virtual bool body_done() const = 0;
  /// The whole body's announced length (Content-Length), if the client announced one.
  virtual std::optional<std::uint64_t> body_length() const = 0;
  /// Reads the next piece of the body to body_piece(); the handler gets its size, which may be
  /// 0 short of the end. HTTP/1 writes 100 Continue first to a client that waits for it. A
  /// framing error is reported as the parser's error code (see Request::body_failed).
  virtual void read_body(SizeHandler handler) = 0;
  virtual const char* body_piece() const = 0;

  // ---- the response; at most one write is pending at a time

  /// Writes `head`, with `body` (possibly empty) after it; `end`: the response is complete.
  /// The protocol frames it: HTTP/1 keeps a Content-Length the head has, else chunks the
  /// body (or, to an HTTP/1.0 client, ends it by closing), and says whether the connection
  /// stays.
  virtual void write_head(ResponseHead& head, std::string_view body, bool end,
                          SizeHandler handler) = 0;
  virtual void write_body(std::string_view body, bool end, SizeHandler handler) = 0;
  /// Ends the response with trailer fields (HTTP/1: after the last chunk of a chunked body;
  /// a body framed otherwise has no room for them, and they are dropped).
  virtual void write_trailers(const HeadFields& trailers, SizeHandler handler) = 0;
  /// The response cannot be completed: the client must not take what it got for the whole
  /// answer (HTTP/1 closes the connection at once).
  virtual void reset() = 0;
  /// The request is over (its log line written). The stream goes on to what follows, the next
  /// request of an HTTP/1 connection, say; nothing of the request touches it afterwards.
  virtual void request_done() = 0;

 protected:
  ~RequestStream() = default;
};

}  // namespace albemu::net
