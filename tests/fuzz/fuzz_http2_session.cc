// libFuzzer target: the HTTP/2 session of a client connection (proxy/net/http2_session.h and
// http2_stream.h) fed arbitrary frames: nghttp2's server codec, the streams, each stream's
// request phases (routing, the demo config's built-in stand-ins answering) and the response
// frames, flow control, resets, GOAWAY and the flood limits.
//
// Each input is what a client sends after the connection preface, which the target writes
// first: the seeds (tests/fuzz/corpus/fuzz_http2_session, made by make_http2_seeds.py) begin
// with the client's SETTINGS frame, so that mutations go to frames rather than to the fixed
// preface. The connection is Http2Connection over one end of a socket pair (session_harness.h)
// rather than over TLS: albemu serves HTTP/2 only after ALPN, but what the fuzzer reaches is
// above the stream, and encrypting each input would cost a handshake per run. The connection
// looks like a TLS one to the requests (https, a TLS version and cipher). The client's write
// side stays open until the worker has nothing left to run (HalfClose::kWhenQuiet): the end of
// the client's bytes ends an HTTP/2 connection and cancels its open streams.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/net/http2_connection_impl.h"
#include "proxy/net/request_context.h"
#include "tests/fuzz/session_harness.h"

namespace fuzz = albemu::fuzz;
namespace net = albemu::net;

namespace {

/// The client connection preface (RFC 9113 3.4) without the SETTINGS frame that follows it.
constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

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
  net::ConnectionInfo info;
  info.forwarding_rule = fuzz::kForwardingRule;
  info.https = true;
  info.client_ip = "10.1.2.3";
  info.local_ip = "127.0.0.1";
  auto tls = std::make_unique<net::ClientTlsInfo>();
  tls->version = "TLSv1.3";
  tls->cipher = "TLS_AES_128_GCM_SHA256";
  info.tls = std::move(tls);
  auto connection = std::make_shared<net::Http2Connection<net::ClientSocket>>(
      worker, std::move(socket), std::move(info), nullptr);
  connection->start();
  connection.reset();  // the connection's own handlers keep it alive

  std::string input(kClientPreface);
  input.append(reinterpret_cast<const char*>(data), size);
  fuzz::run_client(worker, client, input, fuzz::HalfClose::kWhenQuiet, "fuzz_http2_session");
  return 0;
}
