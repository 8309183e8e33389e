#pragma once
// The backend side of an exchange, as the exchange (upstream_exchange.h) sees it: one request
// sent to a backend over one connection, and the connector that hands such connections out.
// HTTP/1 over a pooled socket implements both (http1_upstream.h); an h2c stream would be
// another implementation, and the exchange's tests use a fake one.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/net/message_head.h"
#include "proxy/net/tunnel_io.h"

namespace albemu::net {

class UpstreamTls;

/// A backend address parsed from a Cloud Run stand-in URL ("http://login:8080").
struct Endpoint {
  std::string host;
  std::string port = "80";
  std::string key;   // "host:port", the pool key and the log's serverIp
  bool h2c = false;  // spoken to in HTTP/2 cleartext with prior knowledge (useHttp2)
  // An https:// URL: HTTP/1.1 over TLS, verified with `tls` (a context of the request's pinned
  // generation; set_tls_peer in upstream_tls.h fills the rest).
  bool https = false;
  UpstreamTls* tls = nullptr;
  std::string sni;       // the TLS server name: the host, empty for an IP literal
  std::string pool_key;  // `key` and the context's id: TLS connections are pooled apart
};

/// Parses `http://host[:port][/...]` or `https://host[:port][/...]` (port 443 by default);
/// returns false for other schemes or an empty host.
bool parse_endpoint_url(std::string_view url, Endpoint& out);

/// One request on one backend connection. Every call and handler runs on the worker thread;
/// handlers never run inline unless a call says so. Pending operations keep the object alive,
/// so it may be dropped at any time; their handlers then still run.
/// After a 101, the connection is the backend end of the tunnel (TunnelIo).
class UpstreamRequest : public TunnelIo {
 public:
  using Handler = std::move_only_function<void(boost::system::error_code)>;
  using BodyHandler =
      std::move_only_function<void(boost::system::error_code, std::size_t, bool last)>;

  virtual ~UpstreamRequest() = default;

  /// The connection carried requests before: the backend may have closed it while it idled.
  virtual bool reused() const = 0;
  /// The request body may keep flowing after the response head came (HTTP/2: a gRPC
  /// bidirectional call). Over HTTP/1 an answer that comes first ends the body's relay.
  virtual bool full_duplex() const { return false; }

  /// Writes `head`, framed for a body of `body_length` bytes (unknown: chunked), with `body`
  /// after it; `end`: nothing follows. The handler gets the bytes written, which tells a
  /// failed write that sent nothing (safe to send again) from one that sent some.
  virtual void send_head(RequestHead& head, std::optional<std::uint64_t> body_length,
                         std::string_view body, bool end, SizeHandler handler) = 0;
  /// Writes the next piece of the body; `end`: it is the last.
  virtual void send_body(std::string_view piece, bool end, Handler handler) = 0;

  /// Reads the response's final head into `head` (interim 1xx answers other than 101 are
  /// dropped). May be started while a send_body is pending: a backend that answers before
  /// the body is sent (an early answer) completes it then. `head_request`: the answer has no
  /// body whatever its head says.
  virtual void receive_head(ResponseHead& head, bool head_request, Handler handler) = 0;
  /// Any byte of a response arrived: a failure now is not the idle connection's close.
  virtual bool response_started() const = 0;
  /// The body's announced length, once the head is read.
  virtual std::optional<std::uint64_t> response_length() const = 0;
  /// Whether receive_body would complete without waiting for the backend: a piece (or the
  /// end) came with what was read already.
  virtual bool body_ready() const = 0;
  /// Reads the next piece of the response body to body_piece(); `last`: the body is complete.
  /// Completes inline when body_ready().
  virtual void receive_body(BodyHandler handler) = 0;
  virtual const char* body_piece() const = 0;
  /// The response's trailer fields, once the body was read whole; null if it had none (HTTP/1
  /// drops a chunked body's trailers; HTTP/2 carries them).
  virtual const HeadFields* trailers() const { return nullptr; }

  /// Ends the pending operations, which complete with operation_aborted, and every later one
  /// fails the same way (a deadline passed, or the exchange was cancelled).
  virtual void interrupt() = 0;
  /// Ends a pending send_body, which completes with operation_aborted; no more of the body goes
  /// out, but the response is still read (the backend answered before the body was sent).
  virtual void stop_sending() = 0;
  /// Done with the connection: back to its pool when the request went out whole and the
  /// response was read whole with the connection kept, else closed. Pending operations end.
  virtual void release() = 0;
};

/// A connect in progress; see UpstreamConnector::connect.
class PendingConnect {
 public:
  virtual ~PendingConnect() = default;
  /// Ends the connect: its handler runs soon with operation_aborted, unless it ran already.
  virtual void cancel() = 0;
};

/// Hands out backend connections, each for one request at a time. Worker thread only.
class UpstreamConnector {
 public:
  using ConnectHandler =
      std::move_only_function<void(boost::system::error_code, std::shared_ptr<UpstreamRequest>)>;
  using Deadline = std::chrono::steady_clock::time_point;

  virtual ~UpstreamConnector() = default;
  /// A kept connection to `endpoint`, or null. `verify`: make sure first that the backend did
  /// not close it (a request that must not be sent twice cannot find out by failing).
  virtual std::shared_ptr<UpstreamRequest> take_idle(const Endpoint& endpoint, bool verify) = 0;
  /// Opens a new connection by `deadline` (error::timeout past it). The handler runs exactly
  /// once, never inline.
  virtual std::weak_ptr<PendingConnect> connect(const Endpoint& endpoint, Deadline deadline,
                                                ConnectHandler handler) = 0;
  /// Closes every kept connection (drain, stop).
  virtual void close_idle() = 0;
};

}  // namespace albemu::net
