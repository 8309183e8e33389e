#pragma once
// One request's state from its head to its log line, whatever protocol carried it, and the
// pieces of its phases that are plain functions of that state: the log fields, and the
// answers albemu writes itself.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/core/cors.h"
#include "proxy/core/proxy_error.h"
#include "proxy/core/route_decision.h"
#include "proxy/core/route_request.h"
#include "proxy/core/serverless_resolver.h"
#include "proxy/log/access_log.h"
#include "proxy/net/header_transform.h"
#include "proxy/net/message_head.h"
#include "proxy/net/worker.h"

namespace albemu::net {

/// Request head limits (spec section 7, Envoy's defaults).
inline constexpr std::size_t kHeaderLimitBytes = 60 * 1024;
inline constexpr std::size_t kMaxHeaderCount = 100;
/// A client connection's keepalive timeout when its forwarding rule is gone (GCP's default).
inline constexpr std::chrono::seconds kDefaultKeepaliveTimeout{610};

/// What the TLS handshake told of a client connection.
struct ClientTlsInfo {
  std::string sni;
  std::string_view version;  // OpenSSL's static name, e.g. TLSv1.3
  std::string_view cipher;   // OpenSSL's static name, for the log
  std::string cipher_id;     // IANA's four hex digits, e.g. 009C ({tls_cipher_suite})
  /// The client's TLS fingerprints; empty unless the listener computes them
  /// (ListenerPlan::tls_fingerprints).
  std::string ja3_fingerprint;
  std::string ja4_fingerprint;
  /// The client's certificate on a listener with mutual TLS; null without.
  std::shared_ptr<const ClientCertInfo> client_cert;
};

/// Facts of the client connection, fixed for its lifetime. Thousands of idle connections keep
/// one each, so what only TLS connections know is held apart.
struct ConnectionInfo {
  std::string forwarding_rule;
  std::string client_ip;
  std::string local_ip;  // the address the client connected to (X-Forwarded-For's LB IP)
  bool https = false;
  /// Set once a TLS connection's handshake finished; null on a plain one.
  std::unique_ptr<const ClientTlsInfo> tls;

  /// The TLS facts, all empty without TLS.
  const ClientTlsInfo& tls_info() const;
  /// What the header variables expand to: views into the fields above, valid while they are.
  VariableContext variables() const;
};

/// A connection's forwarding rule and URL map in its worker's current generation, looked up by
/// name once per generation, not once per request. Holding the generation keeps the pointers
/// valid (and a new generation can never reuse the address of one still held).
class PlanCache {
 public:
  using Plan = std::pair<const core::ListenerPlan*, const core::CompiledUrlMap*>;
  Plan get(const Worker& worker, std::string_view forwarding_rule);
  /// Lets go of the generation (a new one came): the next get() looks the plan up again.
  void clear() {
    generation_.reset();
    plan_ = {nullptr, nullptr};
  }

 private:
  std::shared_ptr<const Generation> generation_;
  Plan plan_{nullptr, nullptr};
};

/// One request's state from its head to its log line. Reused by a connection request after
/// request (reset, not reallocated), so the request path keeps its strings' storage.
struct RequestContext {
  std::shared_ptr<const Generation> generation;  // pinned for the whole request
  const core::ListenerPlan* listener = nullptr;
  const core::CompiledUrlMap* url_map = nullptr;
  core::RouteDecision decision;
  bool routed = false;  // decision is valid
  std::optional<core::ServerlessTarget> target;
  std::vector<core::HeaderView> header_views;
  core::CorsHeaders cors_headers;
  log::AccessLogEntry log;
  std::chrono::steady_clock::time_point start;
  /// The client may keep its connection after this request; an answer that must close it
  /// (a malformed request, say) clears it.
  bool client_keep_alive = true;
  bool is_head = false;
  bool websocket = false;
  /// A gRPC request (Content-Type application/grpc*): albemu's own answers take gRPC's form.
  bool grpc = false;
  /// The access log is on: fill every log field. Off, only what the metrics read is kept
  /// (forwarding rule, URL map, backend service, status, latency).
  bool detailed_log = true;

  /// Back to a default-constructed context, keeping the storage of its strings and vectors.
  void reset();
  bool operator==(const RequestContext&) const = default;
};

/// Fills `views` with `fields` (name, value) in order.
void collect_header_views(const HeadFields& fields, std::vector<core::HeaderView>& views);

/// Fills the log fields known once the request head is read (before routing); all of them
/// only when context.detailed_log.
void begin_log(RequestContext& context, const ConnectionInfo& connection, const HeadFields& fields,
               std::string_view method, std::string_view target, unsigned version);
/// Fills the log fields known after routing and resolving.
void route_log(RequestContext& context);
/// Writes the access-log line of a TLS handshake that mutual TLS refused (REJECT_INVALID):
/// status 0 and `reason` (client_cert_*) as statusDetails, as GCP logs a closed connection.
void log_rejected_handshake(Worker& worker, const ConnectionInfo& connection,
                            std::string_view reason);
/// Writes the access-log line and the request metric for a finished request.
void finish_log(Worker& worker, RequestContext& context);

/// Turns the client's request head into the upstream request's, in place: the route's target
/// and Host, hop-by-hop fields removed, X-Forwarded-For and -Proto, Via and the header actions
/// (header_transform.h); Expect is dropped, since albemu answers 100-continue itself. Notes a
/// WebSocket upgrade in context.websocket; a request with a body (`body_expected`) is none.
void transform_upstream_head(RequestHead& head, RequestContext& context,
                             const ConnectionInfo& connection, bool body_expected);

/// Prepares the head and body of albemu's answer for `error` (status, body, content type) and
/// records the error in the log fields. `configured_status` overrides the status of
/// deny/abort errors. To a gRPC request the answer is gRPC's: 200, no body, content-type
/// application/grpc, and the grpc-status (mapped from the HTTP status) and grpc-message fields
/// (trailers-only over HTTP/2). `reason` is appended to the body (why a TLS handshake failed).
void make_error_response(ResponseHead& head, std::string& body, RequestContext& context,
                         core::ProxyError error, int configured_status = 0,
                         std::string_view reason = {});

/// Prepares the built-in stand-in's answer to the request `upstream_fields` describes.
void make_standin_response(ResponseHead& head, std::string& body, RequestContext& context,
                           std::string_view method, std::string_view target,
                           const HeadFields& upstream_fields, std::size_t body_length);

}  // namespace albemu::net
