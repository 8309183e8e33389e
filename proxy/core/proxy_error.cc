#include "proxy/core/proxy_error.h"

#include <array>
#include <cstddef>

#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

constexpr std::string_view kTextPlain = "text/plain";
constexpr std::string_view kTextHtml = "text/html; charset=UTF-8";

// Cloud Armor's deny page: a one-line HTML document naming the status.
constexpr std::string_view kDeny403 =
    R"(<!doctype html><meta charset="utf-8"><meta name=viewport content="width=device-width, initial-scale=1"><title>403</title>403 Forbidden)";
constexpr std::string_view kDeny404 =
    R"(<!doctype html><meta charset="utf-8"><meta name=viewport content="width=device-width, initial-scale=1"><title>404</title>404 Not Found)";
constexpr std::string_view kDeny429 =
    R"(<!doctype html><meta charset="utf-8"><meta name=viewport content="width=device-width, initial-scale=1"><title>429</title>429 Too Many Requests)";
constexpr std::string_view kDeny502 =
    R"(<!doctype html><meta charset="utf-8"><meta name=viewport content="width=device-width, initial-scale=1"><title>502</title>502 Bad Gateway)";

// Envoy's body for a TLS failure to an upstream; the reason (OpenSSL's) is appended.
constexpr std::string_view kTlsFailureBody =
    "upstream connect error or disconnect/reset before headers. reset reason: connection "
    "failure, transport failure reason: TLS_error:";

// One row per ProxyError, in enum order (checked by the static_assert below).
constexpr std::array kErrors = {
    ErrorInfo{503, "no healthy upstream", kTextPlain,
              R"(error="destination_unavailable"; details="failed_to_pick_backend")",
              "failed_to_pick_backend", ErrorSource::kInternal, false},
    // Section 0 takes 502 (as GFE-based LBs) over Envoy's 503.
    ErrorInfo{502,
              "upstream connect error or disconnect/reset before headers. reset reason: "
              "connection failure",
              kTextPlain, R"(error="connection_refused"; details="failed_to_connect_to_backend")",
              "failed_to_connect_to_backend", ErrorSource::kUpstream, false},
    ErrorInfo{
        502,
        "upstream connect error or disconnect/reset before headers. reset reason: "
        "connection termination",
        kTextPlain,
        R"(error="connection_terminated"; details="backend_connection_closed_before_data_sent_to_client")",
        "backend_connection_closed_before_data_sent_to_client", ErrorSource::kUpstream, false},
    ErrorInfo{504, "upstream request timeout", kTextPlain,
              R"(error="http_response_timeout"; details="backend_timeout")", "backend_timeout",
              ErrorSource::kUpstream, false},
    ErrorInfo{502,
              "upstream connect error or disconnect/reset before headers. reset reason: "
              "protocol error",
              kTextPlain, R"(error="http_protocol_error"; details="backend_response_corrupted")",
              "backend_response_corrupted", ErrorSource::kUpstream, false},
    // TLS to an https:// service: the connection failed, as far as GCP's details go; the
    // Proxy-Status error (RFC 9209) and Envoy's body say why.
    ErrorInfo{502, kTlsFailureBody, kTextPlain,
              R"(error="tls_certificate_error"; details="failed_to_connect_to_backend")",
              "failed_to_connect_to_backend", ErrorSource::kUpstream, false},
    ErrorInfo{502, kTlsFailureBody, kTextPlain,
              R"(error="tls_protocol_error"; details="failed_to_connect_to_backend")",
              "failed_to_connect_to_backend", ErrorSource::kUpstream, false},
    ErrorInfo{403, kDeny403, kTextHtml,
              R"(error="http_request_denied"; details="denied_by_security_policy")",
              "denied_by_security_policy", ErrorSource::kInternal, false},
    ErrorInfo{503, "fault filter abort", kTextPlain,
              R"(error="proxy_internal_response"; details="fault_filter_abort")",
              "fault_filter_abort", ErrorSource::kInternal, false},
    ErrorInfo{400, "Bad Request", kTextPlain,
              R"(error="http_protocol_error"; details="malformed_request")", "malformed_request",
              ErrorSource::kDownstream, true},
    ErrorInfo{431, "Request Header Fields Too Large", kTextPlain,
              R"(error="http_request_error"; details="request_header_too_large")",
              "request_header_too_large", ErrorSource::kDownstream, true},
    ErrorInfo{408, "request timeout", kTextPlain,
              R"(error="http_request_error"; details="client_timed_out")", "client_timed_out",
              ErrorSource::kDownstream, true},
    ErrorInfo{0, "", kTextPlain, "", "client_disconnected_before_any_response",
              ErrorSource::kDownstream, true},
    ErrorInfo{500, "internal error", kTextPlain,
              R"(error="proxy_internal_error"; details="internal_error")", "internal_error",
              ErrorSource::kInternal, true},
};
static_assert(kErrors.size() == static_cast<std::size_t>(ProxyError::kInternalError) + 1,
              "one row per ProxyError");

}  // namespace

const ErrorInfo& error_info(ProxyError error) { return kErrors[static_cast<std::size_t>(error)]; }

int error_status(ProxyError error, int configured_status) {
  if ((error == ProxyError::kDeniedBySecurityPolicy || error == ProxyError::kFaultAbort) &&
      configured_status != 0) {
    return configured_status;
  }
  return error_info(error).status;
}

std::string_view security_policy_deny_body(int status) {
  switch (status) {
    case 404:
      return kDeny404;
    case 429:
      return kDeny429;
    case 502:
      return kDeny502;
    default:
      return kDeny403;
  }
}

std::string_view to_string(ProxyError error) {
  switch (error) {
    case ProxyError::kFailedToPickBackend:
      return "failed_to_pick_backend";
    case ProxyError::kFailedToConnectToBackend:
      return "failed_to_connect_to_backend";
    case ProxyError::kBackendConnectionClosedBeforeDataSent:
      return "backend_connection_closed_before_data_sent_to_client";
    case ProxyError::kBackendTimeout:
      return "backend_timeout";
    case ProxyError::kBackendMalformedResponse:
      return "backend_malformed_response";
    case ProxyError::kBackendTlsCertificateError:
      return "backend_tls_certificate_error";
    case ProxyError::kBackendTlsProtocolError:
      return "backend_tls_protocol_error";
    case ProxyError::kDeniedBySecurityPolicy:
      return "denied_by_security_policy";
    case ProxyError::kFaultAbort:
      return "fault_abort";
    case ProxyError::kMalformedRequest:
      return "malformed_request";
    case ProxyError::kRequestHeaderTooLarge:
      return "request_header_too_large";
    case ProxyError::kRequestHeaderTimeout:
      return "request_header_timeout";
    case ProxyError::kClientDisconnectedBeforeResponse:
      return "client_disconnected_before_any_response";
    case ProxyError::kInternalError:
      return "internal_error";
  }
  return "unknown";
}

bool is_grpc_content_type(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size()) return false;
  if (!iequals_ascii(content_type.substr(0, kGrpc.size()), kGrpc)) return false;
  const std::string_view rest = content_type.substr(kGrpc.size());
  return rest.empty() || rest.front() == '+' || rest.front() == ';';
}

int grpc_status_for_http(int status) {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

std::string_view to_string(ErrorSource source) {
  switch (source) {
    case ErrorSource::kDownstream:
      return "downstream";
    case ErrorSource::kUpstream:
      return "upstream";
    case ErrorSource::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace albemu::core
