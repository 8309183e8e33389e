#pragma once
// The one place where albemu changes headers between client and backend (spec sections 0, 1.6,
// 1.7 and 7): hop-by-hop removal, X-Forwarded-For/-Proto, Via, Host, and the URL map's header
// actions. Called on the worker thread of the exchange.

#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/core/route_decision.h"
#include "proxy/net/client_cert.h"
#include "proxy/net/head_fields.h"

namespace albemu::net {

/// Values for `{variable}` tokens in header actions. Unknown or unset variables expand to "".
struct VariableContext {
  std::string_view client_ip_address;  // the client's address, no port
  std::string_view tls_sni_hostname;
  std::string_view tls_version;          // "TLSv1.3"
  std::string_view tls_cipher_suite;     // IANA hex, "1302" for TLS_AES_256_GCM_SHA384
  std::string_view tls_ja3_fingerprint;  // 32 hex digits (tls_fingerprint.h)
  std::string_view tls_ja4_fingerprint;  // t13d1516h2_8daaf6152771_e5627efa2ab1
  int64_t client_rtt_msec = -1;          // < 0: unknown (expands to "")
  /// The client's certificate when the listener has mutual TLS; null: the client_cert_*
  /// variables expand to "" (GCP: a variable without a value is empty).
  const ClientCertInfo* client_cert = nullptr;
};

/// What the upstream request transform needs to know about the downstream side.
struct UpstreamRequestContext {
  std::string_view client_ip;                  // peer IP, no port
  std::string_view load_balancer_ip;           // the forwarding rule's IP (as bound)
  bool https = false;                          // client used TLS
  const VariableContext* variables = nullptr;  // null: all variables empty
  /// A WebSocket upgrade keeps Connection: upgrade and Upgrade. False for a request that has a
  /// body: its stream cannot turn into a tunnel while the body still arrives, so it goes as a
  /// plain request.
  bool upgrade_allowed = true;
};

// Each function below takes Beast's fields or a HeadFields (the proxied path's heads) and does
// the same to both; Beast's are those of the answers albemu writes itself, and of tests.

/// A request is a WebSocket upgrade: `Connection` lists "upgrade" and `Upgrade` names
/// "websocket" (case-insensitive).
bool is_websocket_upgrade(const boost::beast::http::fields& fields);
bool is_websocket_upgrade(const HeadFields& fields);

/// Rewrites a client request's headers in place for the backend: removes hop-by-hop headers
/// (and those named in Connection) unless it is a WebSocket upgrade (and context allows one),
/// where Connection: upgrade and Upgrade are kept; appends `<client-ip>,<lb-ip>` to
/// X-Forwarded-For; sets X-Forwarded-Proto; appends `1.1 google` to Via; sets Host to
/// `decision.upstream_host` (when non-empty); then applies the decision's request header actions,
/// most specific first, each level removing then adding (replace=true replaces, false appends a
/// field).
void transform_upstream_request(boost::beast::http::fields& fields,
                                const core::RouteDecision& decision,
                                const UpstreamRequestContext& context);
void transform_upstream_request(HeadFields& fields, const core::RouteDecision& decision,
                                const UpstreamRequestContext& context);

/// Rewrites a backend response's headers in place for the client: removes hop-by-hop headers
/// (keeping Connection/Upgrade on a 101 WebSocket answer when `websocket_upgrade`), appends
/// `1.1 google` to Via, then applies the decision's response header actions. `decision` may
/// be null (LB-generated answers before routing): only Via is added.
void transform_response(boost::beast::http::fields& fields, const core::RouteDecision* decision,
                        const VariableContext* variables, bool websocket_upgrade = false);
void transform_response(HeadFields& fields, const core::RouteDecision* decision,
                        const VariableContext* variables, bool websocket_upgrade = false);

/// What a header action's value is sent as: `{name}` tokens expanded (unknown names to ""),
/// `{{` and `}}` to single braces, surrounding whitespace trimmed.
std::string expand_header_variables(std::string_view value, const VariableContext* variables);

}  // namespace albemu::net
