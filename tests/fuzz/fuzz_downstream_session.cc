// libFuzzer target: the downstream HTTP session (proxy/net/http1_connection.h) fed arbitrary
// client bytes.
//
// One worker serves the embedded demo config (built-in stand-ins: no backend, no network).
// Its io_context runs on the fuzzer's thread, so every input is handled start to end within
// its own call. Per input: a socketpair(); one end becomes the session's socket (through
// start_session_with_addresses, since a Unix socket has no TCP addresses), the input is
// written into the other end, whose write side is then shut down; the answer is read until
// the session closes. A session that is still open after kStallLimit (far beyond the few
// milliseconds an input takes; the header timeout is set shorter still) is reported as a
// hang, and every request must be accounted for once the connection is gone. With
// ALBEMU_FUZZ_PRINT=1 in the environment the answers are copied to stderr (to check seeds).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "config/embedded_demo.h"
#include "config/load/loader.h"
#include "proxy/core/snapshot.h"
#include "proxy/net/http1_connection.h"
#include "proxy/net/socket_io.h"
#include "proxy/net/worker.h"

namespace {

namespace net = albemu::net;
using Clock = std::chrono::steady_clock;

constexpr auto kHeaderTimeout = std::chrono::milliseconds(500);
constexpr auto kStallLimit = std::chrono::seconds(3);
/// The forwarding rule of config/examples/demo.yaml.
constexpr const char* kForwardingRule = "demo-http";

net::Worker& worker() {
  static net::Worker* const instance = [] {
    auto result = albemu::core::build_snapshot(
        albemu::config::load_config_text(albemu::config::embedded_demo_config(), "demo.yaml"), 1);
    if (!result.snapshot || !result.snapshot->find_listener(kForwardingRule)) std::abort();
    auto generation = std::make_shared<net::Generation>();
    generation->snapshot = result.snapshot;
    generation->bound_ips.emplace(kForwardingRule, "127.0.0.1");
    // Never started: the fuzzer's thread runs its io_context, which makes it the worker thread.
    net::ClientTimeouts timeouts;
    timeouts.request_header = kHeaderTimeout;
    auto* w = new net::Worker(0, nullptr, nullptr, timeouts);
    w->set_generation(std::move(generation));
    return w;
  }();
  return *instance;
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)worker();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  net::Worker& w = worker();
  auto& io = w.io_context();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  const int client = fds[1];
  set_nonblocking(client);

  net::ClientSocket socket(io);
  socket.assign(boost::asio::ip::tcp::v4(), fds[0]);
  // start_session turns on drained reads for TCP clients. A Unix stream socket with one writer
  // also comes up short only when it is empty, so they are on here too: a lost wake-up in
  // them shows as a stalled session.
  if (!net::enable_drained_reads(socket)) std::abort();
  net::start_session_with_addresses(w, kForwardingRule, false, std::move(socket), "10.1.2.3",
                                    "127.0.0.1");

  std::size_t written = 0;
  bool write_closed = false;
  bool read_closed = false;
  char answer[16 * 1024];
  static const bool print = std::getenv("ALBEMU_FUZZ_PRINT") != nullptr;
  const auto deadline = Clock::now() + kStallLimit;
  while (!read_closed || w.connections.load() != 0) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "fuzz_downstream_session: the session is stalled (%s)\n",
                   read_closed ? "closed to the client, still alive" : "still open");
      __builtin_trap();
    }
    bool progress = false;
    if (!write_closed) {
      if (written < size) {
        const ssize_t n = ::send(client, data + written, size - written, MSG_NOSIGNAL);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
          progress = true;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          written = size;  // the session closed early: the rest is never read
        }
      }
      if (written == size) {
        ::shutdown(client, SHUT_WR);
        write_closed = true;
      }
    }
    if (!read_closed) {
      const ssize_t n = ::recv(client, answer, sizeof answer, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        read_closed = true;
      }
      if (n > 0 && print) std::fwrite(answer, 1, static_cast<std::size_t>(n), stderr);
      progress = progress || n >= 0;
    }
    io.restart();
    if (io.poll() > 0) progress = true;
    if (!progress) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(1));
    }
  }
  ::close(client);
  if (w.requests_in_flight.load() != 0) {
    std::fprintf(stderr, "fuzz_downstream_session: a request was never finished\n");
    __builtin_trap();
  }
  return 0;
}
