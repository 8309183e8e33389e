#pragma once
// A Cloud Run stand-in: a server that answers every request with echo_json(). It speaks
// HTTP/1.1, or, with StandinOptions::http2, only h2c with prior knowledge (as a service deployed
// with --use-http2 does), and then answers gRPC calls as a generic echo service. Used by
// `albemu standin`, by `albemu serve` for the useHttp2 Cloud Run services that have no URL,
// and by tests as a real upstream.
//
// Test hooks, read from request headers:
//   x-standin-delay-ms: N        answer after N milliseconds (gRPC: start the answer then)
//   x-standin-status: N          answer with status N (body is still the echo JSON)
//   x-standin-response-bytes: N  answer with N bytes of body ('x'), streamed, instead of the JSON
//   Upgrade: websocket           accept the upgrade and echo every message back (HTTP/1.1)
//
// gRPC (h2c only; content-type application/grpc or application/grpc+...): any method answers
// each request message with the same message as it arrives, then grpc-status 0; the response
// headers carry x-standin-service and x-standin-revision. Hooks, read from the call's metadata:
//   x-standin-grpc-status: N     end the call at once with status N (0 to 16), no message
//   x-standin-grpc-message: TEXT its grpc-message

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/net/standin_echo.h"

namespace albemu::standin {

struct StandinOptions {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  std::uint16_t port = 0;          // 0: the kernel picks a free port; see StandinServer::port()
  net::StandinIdentity identity;
  bool http2 = false;  // h2c with prior knowledge only, instead of HTTP/1.1
};

class StandinServerImpl;
struct OwnedStandin;

/// Owns a listening socket and its sessions. Either runs on a caller-supplied io_context (the
/// caller runs it) or on its own thread. Not copyable; destroying it stops it.
class StandinServer {
 public:
  /// Serves on `io_context`, which the caller runs (and must keep alive longer than this object).
  StandinServer(boost::asio::io_context& io_context, StandinOptions options);
  /// Serves on an io_context of its own, run on one thread started by start().
  explicit StandinServer(StandinOptions options);
  ~StandinServer();

  StandinServer(const StandinServer&) = delete;
  StandinServer& operator=(const StandinServer&) = delete;

  /// Binds host:port and starts accepting. Returns the bind/listen error, if any (then nothing
  /// runs). Call once, from the thread that created the server.
  boost::system::error_code start();

  /// Closes the listener and every open session; joins the own thread if there is one.
  /// Idempotent; safe to call from any thread except the io_context's own.
  void stop();

  /// The port actually bound (after start()); 0 before.
  std::uint16_t port() const;

  /// "host:port" actually bound, IPv6 hosts in brackets ("[::1]:8080").
  std::string address() const;

  /// Requests answered so far (all sessions).
  std::uint64_t requests_served() const;

 private:
  std::shared_ptr<StandinServerImpl> impl_;
  std::shared_ptr<OwnedStandin> owned_;  // set in the own-thread mode only
};

}  // namespace albemu::standin
