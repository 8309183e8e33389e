// libFuzzer target: the downstream HTTP session (proxy/net/http1_connection.h) fed arbitrary
// client bytes.
//
// Per input: a socket pair (session_harness.h); one end becomes the session's socket (through
// start_session_with_addresses, since a Unix socket has no TCP addresses), the input is
// written into the other end, whose write side is then shut down; the answer is read until
// the session closes. The header timeout is short (kHeaderTimeout), so that a partial head
// ends well within the stall limit.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/net/socket_io.h"
#include "tests/fuzz/session_harness.h"

namespace fuzz = albemu::fuzz;
namespace net = albemu::net;

// libFuzzer calls its entry points by these names.
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::demo_worker();
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  net::Worker& worker = fuzz::demo_worker();
  auto [socket, client] = fuzz::make_socket_pair(worker);
  // start_session turns on drained reads for TCP clients. A Unix stream socket with one writer
  // also comes up short only when it is empty, so they are on here too: a lost wake-up in
  // them shows as a stalled session.
  if (!net::enable_drained_reads(socket)) std::abort();
  net::start_session_with_addresses(worker, fuzz::kForwardingRule, false, std::move(socket),
                                    "10.1.2.3", "127.0.0.1");
  fuzz::run_client(worker, client, {reinterpret_cast<const char*>(data), size},
                   fuzz::HalfClose::kAfterInput, "fuzz_downstream_session");
  return 0;
}
