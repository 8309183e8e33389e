#pragma once
// Every error albemu answers itself, classified by source and mapped in this one place to the
// status, body and the access log's proxyStatus / statusDetails (spec sections 0 and 8).

#include <string_view>

namespace albemu::core {

/// Who caused an error: the client, the backend, or albemu itself (config, policy, faults).
enum class ErrorSource {
  kDownstream,
  kUpstream,
  kInternal,
};

enum class ProxyError {
  kFailedToPickBackend,                    // no endpoint (URL mask mismatch, unknown service/tag)
  kFailedToConnectToBackend,               // connect refused/failed before response headers
  kBackendConnectionClosedBeforeDataSent,  // upstream reset/closed before response headers
  kBackendTimeout,                         // route timeout (or 60 min serverless) expired
  kBackendMalformedResponse,               // upstream sent an unparsable response head
  kBackendTlsCertificateError,             // the backend's certificate failed verification
  kBackendTlsProtocolError,                // the TLS handshake with the backend failed otherwise
  kDeniedBySecurityPolicy,                 // Cloud Armor deny/throttle; status from the rule
  kFaultAbort,                             // fault injection abort; status from the policy
  kMalformedRequest,                       // client sent an unparsable request
  kRequestHeaderTooLarge,                  // request head or header count over the limit
  kRequestHeaderTimeout,                   // client did not finish the request head in time
  kClientDisconnectedBeforeResponse,       // client went away first; nothing is sent
  kInternalError,                          // albemu bug or resource exhaustion
};

/// How albemu answers one ProxyError. Views point to static strings.
struct ErrorInfo {
  int status;                     // 0: nothing is sent (client gone)
  std::string_view body;          // text/plain body (HTML for security policy denials: use
                                  // security_policy_deny_body() with the configured status);
                                  // the TLS errors' ends with "TLS_error:", the reason follows
  std::string_view content_type;  // of `body`
  std::string_view proxy_status;  // RFC 9209 Proxy-Status text for the log
  std::string_view details;       // log statusDetails
  ErrorSource source;
  bool close_connection;  // the downstream connection must be closed after the answer
};

/// The mapping. For kDeniedBySecurityPolicy and kFaultAbort `status` is a default (403 and 503);
/// the caller sends the configured status instead (see error_status()).
const ErrorInfo& error_info(ProxyError error);

/// `error`'s status, or `configured_status` for the two errors whose status comes from config
/// (security policy deny, fault abort) when it is non-zero.
int error_status(ProxyError error, int configured_status = 0);

/// The body for a security-policy denial with `status` (GCP's short Cloud Armor HTML page).
std::string_view security_policy_deny_body(int status);

/// Whether a request's Content-Type is gRPC's (application/grpc, application/grpc+proto, ...):
/// albemu then answers its own errors in gRPC's form.
bool is_grpc_content_type(std::string_view content_type);

/// The grpc-status for an answer with HTTP `status`, as Envoy maps it: 400 -> INTERNAL (13),
/// 401 -> UNAUTHENTICATED (16), 403 -> PERMISSION_DENIED (7), 404 -> UNIMPLEMENTED (12),
/// 429, 502, 503 and 504 -> UNAVAILABLE (14), anything else -> UNKNOWN (2).
int grpc_status_for_http(int status);

/// Readable name of the enum value, for tests and debug output ("failed_to_pick_backend" style).
std::string_view to_string(ProxyError error);
std::string_view to_string(ErrorSource source);

}  // namespace albemu::core
