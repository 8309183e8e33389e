#pragma once
// The per-request state shared by the phases of one exchange, and the pieces of those phases
// that do not depend on the client stream type (so the session template stays small).

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/cors.h"
#include "proxy/core/proxy_error.h"
#include "proxy/core/route_decision.h"
#include "proxy/core/route_request.h"
#include "proxy/core/serverless_resolver.h"
#include "proxy/log/access_log.h"
#include "proxy/net/header_transform.h"
#include "proxy/net/upstream_pool.h"
#include "proxy/net/worker.h"

namespace albemu::net {

/// Bodies up to this size are buffered when the route has a retry policy, so a retry can
/// resend them. Larger (or chunked) bodies are streamed once and never retried.
inline constexpr std::size_t kRetryBodyLimit = 64 * 1024;
/// Request head limits (spec section 7, Envoy's defaults).
inline constexpr std::size_t kHeaderLimitBytes = 60 * 1024;
inline constexpr std::size_t kMaxHeaderCount = 100;

/// Facts of the client connection, fixed for its lifetime.
struct ConnectionInfo {
  std::string forwarding_rule;
  bool https = false;
  std::string client_ip;
  std::string local_ip;       // the address the client connected to (X-Forwarded-For's LB IP)
  VariableContext variables;  // views into the strings below
  std::string sni;
  std::string tls_version;
  std::string tls_cipher;
};

/// One request's state from its head to its log line. Reused per connection (cleared, not
/// reallocated) to keep the request path free of heap churn.
struct RequestContext {
  std::shared_ptr<const Generation> generation;  // pinned for the whole exchange
  const core::ListenerPlan* listener = nullptr;
  const core::CompiledUrlMap* url_map = nullptr;
  core::RouteDecision decision;
  bool routed = false;  // decision is valid
  std::optional<core::ServerlessTarget> target;
  std::vector<core::HeaderView> header_views;
  core::CorsHeaders cors_headers;
  log::AccessLogEntry log;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point deadline;  // route timeout
  unsigned attempts = 0;
  bool client_keep_alive = true;
  bool expect_continue = false;
  bool continue_sent = false;  // 100 Continue went out
  bool is_head = false;
  bool websocket = false;
  /// The access log is on: fill every log field. Off, only what the metrics read is kept
  /// (forwarding rule, URL map, backend service, status, latency).
  bool detailed_log = true;

  void reset();
};

/// Fills `views` with `fields` (name, value) in order.
void collect_header_views(const HeadFields& fields, std::vector<core::HeaderView>& views);

/// Whether a backend answer with `status` may be retried under `retry_on` (RetryOn bits).
/// `grpc_status` is the response's grpc-status header value (-1 if absent or not a number);
/// the gRPC conditions (cancelled, deadline-exceeded, ...) look only at it.
bool retriable_status(uint32_t retry_on, int status, int grpc_status = -1);
/// The numeric value of the `grpc-status` field, or -1.
int grpc_status_of(const HeadFields& fields);
/// Whether a failure to connect / a reset before headers may be retried.
bool retriable_connect_failure(uint32_t retry_on);
bool retriable_reset(uint32_t retry_on);
bool retriable_timeout(uint32_t retry_on);

/// Fills the log fields known once the request head is read (before routing); all of them
/// only when context.detailed_log.
void begin_log(RequestContext& context, const ConnectionInfo& connection, const HeadFields& fields,
               std::string_view method, std::string_view target, unsigned version);
/// Fills the log fields known after routing and resolving.
void route_log(RequestContext& context);
/// Writes the access-log line and the request metric for a finished exchange.
void finish_log(Worker& worker, RequestContext& context);

/// A response albemu answers itself (errors, redirects, CORS preflights, the built-in stand-in).
using LocalResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// Prepares `response` for `error` (status, body, content type) and records the error in the
/// log fields. `configured_status` overrides the status of deny/abort errors.
void make_error_response(LocalResponse& response, RequestContext& context, core::ProxyError error,
                         int configured_status = 0);

/// Prepares the built-in stand-in's answer to the request `upstream_fields` describes.
void make_standin_response(LocalResponse& response, RequestContext& context,
                           std::string_view method, std::string_view target,
                           const HeadFields& upstream_fields, std::size_t body_length);

}  // namespace albemu::net
