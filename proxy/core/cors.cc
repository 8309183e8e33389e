#include "proxy/core/cors.h"

#include <algorithm>

#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

bool allows_any_origin(const model::CorsPolicy& policy) {
  return std::find(policy.allow_origins.begin(), policy.allow_origins.end(), "*") !=
         policy.allow_origins.end();
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) {
    if (!out.empty()) out += ",";
    out += value;
  }
  return out;
}

/// Allow-Origin value: `*` for a wildcard policy without credentials (browsers refuse `*`
/// with credentials), otherwise the request's origin echoed back.
std::string allow_origin_value(const model::CorsPolicy& policy, std::string_view origin) {
  if (allows_any_origin(policy) && !policy.allow_credentials) return "*";
  return std::string(origin);
}

}  // namespace

bool is_cors_preflight(std::string_view method, std::span<const HeaderView> headers) {
  return method == "OPTIONS" && find_header(headers, "origin") != nullptr &&
         find_header(headers, "access-control-request-method") != nullptr;
}

std::string_view allowed_cors_origin(const model::CorsPolicy& policy,
                                     std::span<const HeaderView> headers) {
  if (policy.disabled) return {};
  const HeaderView* origin = find_header(headers, "origin");
  if (origin == nullptr || origin->value.empty()) return {};
  for (const std::string& allowed : policy.allow_origins) {
    // GCP's allowOrigins are exact matches (regexes are not supported on INTERNAL_MANAGED).
    if (allowed == "*" || allowed == origin->value) return origin->value;
  }
  return {};
}

bool cors_preflight_response(const model::CorsPolicy& policy, std::string_view method,
                             std::span<const HeaderView> headers, CorsHeaders& out) {
  if (!is_cors_preflight(method, headers)) return false;
  const std::string_view origin = allowed_cors_origin(policy, headers);
  // Envoy forwards a preflight from a disallowed origin to the backend untouched.
  if (origin.empty()) return false;
  out.push_back({"Access-Control-Allow-Origin", allow_origin_value(policy, origin)});
  if (!policy.allow_methods.empty()) {
    out.push_back({"Access-Control-Allow-Methods", join(policy.allow_methods)});
  }
  if (!policy.allow_headers.empty()) {
    out.push_back({"Access-Control-Allow-Headers", join(policy.allow_headers)});
  }
  if (policy.max_age) {
    out.push_back({"Access-Control-Max-Age", std::to_string(*policy.max_age)});
  }
  if (policy.allow_credentials) out.push_back({"Access-Control-Allow-Credentials", "true"});
  return true;
}

void cors_response_headers(const model::CorsPolicy& policy, std::span<const HeaderView> headers,
                           CorsHeaders& out) {
  const std::string_view origin = allowed_cors_origin(policy, headers);
  if (origin.empty()) return;
  out.push_back({"Access-Control-Allow-Origin", allow_origin_value(policy, origin)});
  if (policy.allow_credentials) out.push_back({"Access-Control-Allow-Credentials", "true"});
  if (!policy.expose_headers.empty()) {
    out.push_back({"Access-Control-Expose-Headers", join(policy.expose_headers)});
  }
}

}  // namespace albemu::core
