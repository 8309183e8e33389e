#include "proxy/core/proxy_error.h"

#include <gtest/gtest.h>

namespace albemu::core {
namespace {

struct Expected {
  ProxyError error;
  int status;
  std::string_view body;
  std::string_view proxy_status;
  std::string_view details;
  ErrorSource source;
  bool close;
};

TEST(ProxyError, EveryMapping) {
  const Expected expected[] = {
      {ProxyError::kFailedToPickBackend, 503, "no healthy upstream",
       R"(error="destination_unavailable"; details="failed_to_pick_backend")",
       "failed_to_pick_backend", ErrorSource::kInternal, false},
      {ProxyError::kFailedToConnectToBackend, 502,
       "upstream connect error or disconnect/reset before headers. reset reason: connection "
       "failure",
       R"(error="connection_refused"; details="failed_to_connect_to_backend")",
       "failed_to_connect_to_backend", ErrorSource::kUpstream, false},
      {ProxyError::kBackendConnectionClosedBeforeDataSent, 502,
       "upstream connect error or disconnect/reset before headers. reset reason: connection "
       "termination",
       R"(error="connection_terminated"; details="backend_connection_closed_before_data_sent_to_client")",
       "backend_connection_closed_before_data_sent_to_client", ErrorSource::kUpstream, false},
      {ProxyError::kBackendTimeout, 504, "upstream request timeout",
       R"(error="http_response_timeout"; details="backend_timeout")", "backend_timeout",
       ErrorSource::kUpstream, false},
      {ProxyError::kBackendMalformedResponse, 502,
       "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
       R"(error="http_protocol_error"; details="backend_response_corrupted")",
       "backend_response_corrupted", ErrorSource::kUpstream, false},
      {ProxyError::kFaultAbort, 503, "fault filter abort",
       R"(error="proxy_internal_response"; details="fault_filter_abort")", "fault_filter_abort",
       ErrorSource::kInternal, false},
      {ProxyError::kMalformedRequest, 400, "Bad Request",
       R"(error="http_protocol_error"; details="malformed_request")", "malformed_request",
       ErrorSource::kDownstream, true},
      {ProxyError::kRequestHeaderTooLarge, 431, "Request Header Fields Too Large",
       R"(error="http_request_error"; details="request_header_too_large")",
       "request_header_too_large", ErrorSource::kDownstream, true},
      {ProxyError::kRequestHeaderTimeout, 408, "request timeout",
       R"(error="http_request_error"; details="client_timed_out")", "client_timed_out",
       ErrorSource::kDownstream, true},
      {ProxyError::kClientDisconnectedBeforeResponse, 0, "", "",
       "client_disconnected_before_any_response", ErrorSource::kDownstream, true},
      {ProxyError::kInternalError, 500, "internal error",
       R"(error="proxy_internal_error"; details="internal_error")", "internal_error",
       ErrorSource::kInternal, true},
  };
  for (const Expected& e : expected) {
    SCOPED_TRACE(to_string(e.error));
    const ErrorInfo& info = error_info(e.error);
    EXPECT_EQ(info.status, e.status);
    EXPECT_EQ(info.body, e.body);
    EXPECT_EQ(info.proxy_status, e.proxy_status);
    EXPECT_EQ(info.details, e.details);
    EXPECT_EQ(info.source, e.source);
    EXPECT_EQ(info.close_connection, e.close);
    EXPECT_EQ(error_status(e.error), e.status);
    EXPECT_FALSE(info.content_type.empty());
  }
}

TEST(ProxyError, SecurityPolicyDenyUsesConfiguredStatus) {
  const ErrorInfo& info = error_info(ProxyError::kDeniedBySecurityPolicy);
  EXPECT_EQ(info.status, 403);
  EXPECT_EQ(info.details, "denied_by_security_policy");
  EXPECT_EQ(info.proxy_status,
            R"(error="http_request_denied"; details="denied_by_security_policy")");
  EXPECT_EQ(info.source, ErrorSource::kInternal);
  EXPECT_EQ(info.content_type.substr(0, 9), "text/html");
  EXPECT_EQ(error_status(ProxyError::kDeniedBySecurityPolicy, 429), 429);
  EXPECT_EQ(error_status(ProxyError::kDeniedBySecurityPolicy), 403);
  for (int status : {403, 404, 429, 502}) {
    const std::string_view body = security_policy_deny_body(status);
    EXPECT_TRUE(body.starts_with("<!doctype html>")) << body;
    EXPECT_NE(body.find("<title>" + std::to_string(status) + "</title>"), std::string_view::npos)
        << body;
  }
  EXPECT_NE(security_policy_deny_body(429).find("Too Many Requests"), std::string_view::npos);
  EXPECT_EQ(info.body, security_policy_deny_body(403));
}

TEST(ProxyError, FaultAbortUsesConfiguredStatus) {
  EXPECT_EQ(error_status(ProxyError::kFaultAbort, 418), 418);
  EXPECT_EQ(error_status(ProxyError::kFaultAbort, 0), 503);
  // Only the two configurable errors take a configured status.
  EXPECT_EQ(error_status(ProxyError::kBackendTimeout, 418), 504);
}

TEST(ProxyError, GrpcStatusFromHttpStatusAsEnvoyMapsIt) {
  EXPECT_EQ(grpc_status_for_http(400), 13);  // INTERNAL
  EXPECT_EQ(grpc_status_for_http(401), 16);  // UNAUTHENTICATED
  EXPECT_EQ(grpc_status_for_http(403), 7);   // PERMISSION_DENIED
  EXPECT_EQ(grpc_status_for_http(404), 12);  // UNIMPLEMENTED
  for (int status : {429, 502, 503, 504}) EXPECT_EQ(grpc_status_for_http(status), 14) << status;
  for (int status : {200, 408, 418, 431, 500}) EXPECT_EQ(grpc_status_for_http(status), 2) << status;
}

TEST(ProxyError, GrpcContentTypes) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type(""));
}

TEST(ProxyError, Names) {
  EXPECT_EQ(to_string(ProxyError::kFailedToPickBackend), "failed_to_pick_backend");
  EXPECT_EQ(to_string(ErrorSource::kUpstream), "upstream");
}

}  // namespace
}  // namespace albemu::core
