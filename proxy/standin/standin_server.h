#pragma once
// A Cloud Run stand-in: an HTTP/1.1 server that answers every request with echo_json().
// Used by `albemu standin`, by `albemu serve` for Cloud Run services without a URL, and by
// integration tests as a real upstream.
//
// Test hooks, read from request headers:
//   x-standin-delay-ms: N        answer after N milliseconds
//   x-standin-status: N          answer with status N (body is still the echo JSON)
//   x-standin-response-bytes: N  answer with N bytes of body ('x'), chunked, instead of the JSON
//   Upgrade: websocket           accept the upgrade and echo every message back

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
