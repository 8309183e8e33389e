#pragma once
// A request forwarded to a backend, by phase:
//   attempt and connect (upstream_exchange.cc): the endpoint, the connection, the route
//     timeout, and the retry rules, all in one place;
//   request relay (request_relay.cc): the head and the body to the backend, piece by piece,
//     while it watches for an answer that comes before the body is sent (an early answer);
//   response relay (response_relay.cc): the response head and body back to the client;
//   tunnel (upstream_tunnel.cc): bytes both ways after a WebSocket 101.
// It talks to the client through its Request's RequestStream and to the backend through an
// UpstreamRequest, both in operations; neither side's buffers or parsers are its business.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/core/proxy_error.h"
#include "proxy/net/request_context.h"
#include "proxy/net/upstream_request.h"
#include "proxy/net/upstream_tls.h"
#include "proxy/net/worker.h"

namespace albemu::net {

class Request;
class RequestStream;

/// Bodies up to this size are buffered when the route has a retry policy, so a retry can
/// resend them. Larger (or chunked) bodies are streamed once and never retried.
inline constexpr std::size_t kRetryBodyLimit = 64 * 1024;

/// Whether a backend answer with `status` may be retried under `retry_on` (RetryOn bits).
/// `grpc_status` is the response's grpc-status value (-1 if absent or not a number); the gRPC
/// conditions (cancelled, deadline-exceeded, ...) look only at it.
bool retriable_status(uint32_t retry_on, int status, int grpc_status = -1);
/// The numeric value of the `grpc-status` field, or -1.
int grpc_status_of(const HeadFields& fields);

class UpstreamExchange : public std::enable_shared_from_this<UpstreamExchange> {
 public:
  /// After routing, resolving and the policies: `request`'s target has endpoints, and its head
  /// is already the upstream request's (transform_upstream_head).
  explicit UpstreamExchange(Request& request);
  ~UpstreamExchange();

  void start();
  /// The request ended underneath the exchange: the backend connection is dropped, and no
  /// pending step reports anything any more.
  void cancel();

 private:
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;

  /// What ended an attempt without a usable answer.
  enum class Failure {
    kConnect,    // the connection could not be opened
    kTimeout,    // the per-try or route timeout passed
    kClosed,     // the backend closed or reset the connection before its answer
    kRefused,    // an HTTP/2 backend refused the stream (REFUSED_STREAM, or above its GOAWAY):
                 // it processed none of the request
    kMalformed,  // the answer could not be parsed
  };

  // ---- attempts (upstream_exchange.cc)
  void buffer_body_for_retry();
  /// GCP starts the route timeout once the request has been fully received: each body piece
  /// restarts it (and the per-try timeout).
  void restart_deadline();
  /// Bounds the backend operations that follow by `deadline`: when it passes they are
  /// interrupted and report a timeout (timeout_aware). One timer, re-armed only when it moves.
  void arm_deadline(Clock::time_point deadline);
  void disarm_deadline();
  error_code timeout_aware(error_code ec) const;
  /// An https:// endpoint: its client context from the pinned generation, SNI, and the Host
  /// the service is routed by. False if the generation has no context for it.
  bool prepare_tls();
  void attempt();
  void on_connect(error_code ec, std::shared_ptr<UpstreamRequest> upstream);
  // The retry rules, all of them. Whether another attempt may follow under the route's retry
  // policy after one that failed by `failure`, or was answered `status` (and grpc-status).
  bool may_retry(Failure failure) const;
  bool may_retry(int status, const ResponseHead& head) const;
  /// What every retry needs: a policy, a request that can be sent again, retries and time left.
  bool retry_allowed() const;
  /// A kept connection the backend had closed while it idled shows up as the first write
  /// failing, or as an answer that never comes. Sending again on a fresh connection is safe,
  /// and not counted as an attempt, when the request can still be sent (`body_intact`: no
  /// body piece was read from the client for it, or the body is buffered) and the backend
  /// cannot have acted on it (`nothing_sent`), or may act twice (an idempotent method).
  bool replay_after_idle_close(bool nothing_sent, bool body_intact) const;
  void attempt_failed(Failure failure);

  // ---- the request (request_relay.cc)
  void send_head();
  void on_head_sent(error_code ec, std::size_t written, bool end);
  void relay_request_body();
  void on_body_piece(error_code ec, std::size_t n);
  /// Copies a piece sent from a body of unknown length for a retry (replay_copy_).
  void keep_for_replay(std::string_view piece, bool last);
  void on_body_sent(error_code ec, bool last);
  void await_response_head();
  void on_response_head(error_code ec);

  // ---- the response (response_relay.cc)
  void take_response_head();
  void start_response();
  void relay_response_body();
  void on_response_piece(error_code ec, std::size_t n, bool last);
  /// The backend's trailer fields if the hop to Cloud Run carries them (HTTP/2), else null.
  const HeadFields* relayed_trailers() const;
  void on_response_written(error_code ec, std::size_t n, bool last);
  void finish();
  void response_cut_short(core::ProxyError error);

  // ---- the tunnel (upstream_tunnel.cc)
  void start_tunnel();
  void tunnel_client_to_backend();
  void tunnel_backend_to_client();
  void end_tunnel();

  Request& request_;
  RequestStream& stream_;
  RequestContext& ctx_;
  std::shared_ptr<void> stream_keepalive_;
  Endpoint endpoint_;
  std::shared_ptr<UpstreamRequest> upstream_;
  std::weak_ptr<PendingConnect> pending_connect_;
  std::optional<std::string> buffered_body_;  // set when retries are possible
  // A body of unknown length under a retry policy is sent as it comes (a streaming call must
  // not wait for its own end) and copied here while it fits kRetryBodyLimit; once it has come
  // whole, the copy becomes buffered_body_ and the request replayable.
  std::optional<std::string> replay_copy_;
  // How the last connect failed on TLS (kNone: it did not), and OpenSSL's reason.
  TlsFailure tls_failure_ = TlsFailure::kNone;
  std::string tls_failure_reason_;
  unsigned attempts_ = 0;
  bool replayable_ = false;  // the request can be sent again (no body, or buffered)
  bool idempotent_ = false;  // its method may be sent twice without the client asking

  // The route timeout and the per-try one.
  Clock::time_point deadline_;
  Clock::time_point attempt_deadline_;
  std::unique_ptr<Worker::SteadyTimer> deadline_timer_;  // lent by the worker once armed
  Clock::time_point armed_deadline_;
  bool deadline_armed_ = false;
  bool timed_out_ = false;            // the deadline passed; pending operations were interrupted
  uint64_t deadline_generation_ = 0;  // tells a stale expiry from the current one

  // The request relay.
  bool sending_body_ = false;         // the body is being relayed to the backend
  bool body_write_pending_ = false;   // a piece is being written to the backend
  bool client_read_pending_ = false;  // a piece is being read from the client
  bool head_received_ = false;        // receive_head completed (head_error_ says how)
  error_code head_error_;
  bool early_response_ = false;  // the backend answered before the body was sent whole
  bool duplex_ = false;          // the body is relayed beside the response (full_duplex upstreams)

  // The response relay.
  bool head_pending_ = false;  // not written yet: goes out with the first body bytes
  bool trailers_written_ = false;

  std::unique_ptr<char[]> tunnel_buffers_[2];  // client -> backend, backend -> client
  bool tunnel_closing_ = false;
  bool cancelled_ = false;
};

}  // namespace albemu::net
