#pragma once
// What the session fuzz targets share (fuzz_downstream_session.cc for HTTP/1,
// fuzz_http2_session.cc for HTTP/2): one worker serving the embedded demo config (built-in
// stand-ins: no backend, no network), and a client that feeds an input through a socket pair
// and reads the answers until the session is gone.
//
// The worker's io_context runs on the fuzzer's thread, so every input is handled start to end
// within its own call. A session that is still open after kStallLimit (far beyond the few
// milliseconds an input takes) is reported as a hang, and every request must be accounted for
// once the connection is gone. With ALBEMU_FUZZ_PRINT=1 in the environment the answers are
// copied to stderr (to check seeds).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <utility>

#include "config/embedded_demo.h"
#include "config/load/loader.h"
#include "proxy/core/snapshot.h"
#include "proxy/net/http1_connection.h"
#include "proxy/net/worker.h"

namespace albemu::fuzz {

/// The forwarding rule of config/examples/demo.yaml.
inline constexpr const char* kForwardingRule = "demo-http";
/// The HTTP/1 header timeout: shorter than kStallLimit, so a partial head ends in time.
inline constexpr auto kHeaderTimeout = std::chrono::milliseconds(500);
inline constexpr auto kStallLimit = std::chrono::seconds(3);

/// The one worker, built on first use. Never started: the fuzzer's thread runs its io_context,
/// which makes it the worker thread.
inline net::Worker& demo_worker() {
  static net::Worker* const kInstance = [] {
    auto result = core::build_snapshot(
        config::load_config_text(config::embedded_demo_config(), "demo.yaml"), 1);
    if (!result.snapshot || !result.snapshot->find_listener(kForwardingRule)) std::abort();
    auto generation = std::make_shared<net::Generation>();
    generation->snapshot = result.snapshot;
    generation->bound_ips.emplace(kForwardingRule, "127.0.0.1");
    net::ClientTimeouts timeouts;
    timeouts.request_header = kHeaderTimeout;
    auto* worker = new net::Worker(0, nullptr, nullptr, timeouts);
    worker->set_generation(std::move(generation));
    return worker;
  }();
  return *kInstance;
}

/// A connected socket pair: the session's end as a socket of `worker`, and the client's end
/// (non-blocking), which run_client takes over.
inline std::pair<net::ClientSocket, int> make_socket_pair(net::Worker& worker) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  const int flags = fcntl(fds[1], F_GETFL, 0);
  if (flags < 0 || fcntl(fds[1], F_SETFL, flags | O_NONBLOCK) != 0) std::abort();
  net::ClientSocket socket(worker.io_context());
  socket.assign(boost::asio::ip::tcp::v4(), fds[0]);
  return {std::move(socket), fds[1]};
}

/// When the client shuts its write side.
enum class HalfClose {
  /// As soon as the input is written: an HTTP/1 session answers the requests it read first.
  kAfterInput,
  /// Once the input is written and the worker has nothing left to run: an HTTP/2 session takes
  /// the client's end for the connection's and cancels the streams still open, so it must
  /// first answer what it can.
  kWhenQuiet,
};

/// Writes `input` to the `client` end, reads the answers until the session closed and the
/// worker holds no connection any more (running the worker's io_context meanwhile), then
/// closes `client`. Traps on a stall or a request that never finished; `target` names the
/// fuzz target in those messages.
inline void run_client(net::Worker& worker, int client, std::string_view input,
                       HalfClose half_close, const char* target) {
  using Clock = std::chrono::steady_clock;
  auto& io = worker.io_context();
  std::size_t written = 0;
  bool write_closed = false;
  bool read_closed = false;
  bool quiet = false;  // the last round moved no byte and ran no handler
  char answer[16 * 1024];
  static const bool kPrint = std::getenv("ALBEMU_FUZZ_PRINT") != nullptr;
  const auto deadline = Clock::now() + kStallLimit;
  while (!read_closed || worker.connections.load() != 0) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "%s: the session is stalled (%s)\n", target,
                   read_closed ? "closed to the client, still alive" : "still open");
      __builtin_trap();
    }
    bool progress = false;
    if (!write_closed) {
      if (written < input.size()) {
        const ssize_t n =
            ::send(client, input.data() + written, input.size() - written, MSG_NOSIGNAL);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
          progress = true;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          written = input.size();  // the session closed early: the rest is never read
        }
      }
      if (written == input.size() && (half_close == HalfClose::kAfterInput || quiet)) {
        ::shutdown(client, SHUT_WR);
        write_closed = true;
        progress = true;
      }
    }
    if (!read_closed) {
      const ssize_t n = ::recv(client, answer, sizeof answer, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) read_closed = true;
      if (n > 0 && kPrint) std::fwrite(answer, 1, static_cast<std::size_t>(n), stderr);
      progress = progress || n >= 0;
    }
    io.restart();
    if (io.poll() > 0) progress = true;
    // A Unix socket's bytes are readable on the other end as soon as they are sent, and poll()
    // asks the reactor without waiting: a round that moved nothing leaves only timers to wait
    // for, or the client.
    quiet = !progress;
    if (!progress && (write_closed || half_close == HalfClose::kAfterInput)) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(1));
    }
  }
  ::close(client);
  if (worker.requests_in_flight.load() != 0) {
    std::fprintf(stderr, "%s: a request was never finished\n", target);
    __builtin_trap();
  }
}

}  // namespace albemu::fuzz
