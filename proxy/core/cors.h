#pragma once
// CORS for a route's corsPolicy, with Envoy's CORS filter semantics: a preflight from an
// allowed origin is answered by the proxy (200, no body, never reaches the backend); a
// preflight from another origin is forwarded unchanged; other responses to an allowed origin
// get Allow-Origin / Allow-Credentials / Expose-Headers.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/resources.h"
#include "proxy/core/route_request.h"

namespace albemu::core {

struct CorsHeader {
  std::string_view name;  // static header name
  std::string value;
  bool operator==(const CorsHeader&) const = default;
};
using CorsHeaders = std::vector<CorsHeader>;

/// OPTIONS with both Origin and Access-Control-Request-Method.
bool is_cors_preflight(std::string_view method, std::span<const HeaderView> headers);

/// The request's Origin if `policy` is enabled and allows it; empty otherwise.
std::string_view allowed_cors_origin(const model::CorsPolicy& policy,
                                     std::span<const HeaderView> headers);

/// If the request is a preflight that the proxy must answer (policy enabled, origin allowed),
/// returns true and fills `out` with the response headers for a 200 without body. Returns
/// false otherwise: the request is routed as usual.
bool cors_preflight_response(const model::CorsPolicy& policy, std::string_view method,
                             std::span<const HeaderView> headers, CorsHeaders& out);

/// Headers to add to a (non-preflight) response for this request; nothing if the policy is
/// disabled, the request has no Origin, or the origin is not allowed.
void cors_response_headers(const model::CorsPolicy& policy, std::span<const HeaderView> headers,
                           CorsHeaders& out);

}  // namespace albemu::core
