#include "proxy/net/exchange.h"

#include <boost/beast/http/field.hpp>
#include <charconv>

#include "proxy/core/url_map.h"
#include "proxy/log/metrics.h"
#include "proxy/net/standin_echo.h"

namespace albemu::net {

namespace http = boost::beast::http;

namespace {

// Field by field rather than `= T{}`: assigning a fresh object would free every string's
// buffer, and a keep-alive connection would allocate them again on each request. Must list
// every member of the struct (the defaults are those of its declaration).
void clear_decision(core::RouteDecision& decision) {
  decision.action = core::RouteAction::kForward;
  decision.host_rule_hosts = nullptr;
  decision.path_matcher = {};
  decision.matched_rule = {};
  decision.backend_service = {};
  decision.upstream_host.clear();
  decision.upstream_target.clear();
  decision.policy = nullptr;
  decision.status = 0;
  decision.location.clear();
  decision.header_actions = {};
}

void clear_log_entry(log::AccessLogEntry& entry) {
  entry.timestamp = {};
  for (std::string* text :
       {&entry.project, &entry.region, &entry.network, &entry.forwarding_rule, &entry.target_proxy,
        &entry.url_map, &entry.backend_service, &entry.network_endpoint_group,
        &entry.cloud_run_service, &entry.tag, &entry.method, &entry.request_url, &entry.user_agent,
        &entry.referer, &entry.remote_ip, &entry.server_ip, &entry.proxy_status,
        &entry.status_details}) {
    text->clear();
  }
  entry.matched_url_path_rule.assign("UNMATCHED");
  entry.request_size = 0;
  entry.status = 0;
  entry.response_size = 0;
  entry.latency = std::chrono::microseconds{0};
  entry.protocol.assign("HTTP/1.1");
  entry.enforced_security_policy.reset();
  entry.tls.reset();
}

}  // namespace

void RequestContext::reset() {
  generation.reset();
  listener = nullptr;
  url_map = nullptr;
  clear_decision(decision);
  routed = false;
  target.reset();
  header_views.clear();
  cors_headers.clear();
  clear_log_entry(log);
  attempts = 0;
  client_keep_alive = true;
  expect_continue = false;
  continue_sent = false;
  is_head = false;
  websocket = false;
}

void collect_header_views(const HeadFields& fields, std::vector<core::HeaderView>& views) {
  views.clear();
  for (const auto& field : fields) views.push_back({field.name_string(), field.value()});
}

bool retriable_status(uint32_t retry_on, int status, int grpc_status) {
  if ((retry_on & core::kRetryOn5xx) && status >= 500) return true;
  if ((retry_on & core::kRetryOnGatewayError) && (status == 502 || status == 503 || status == 504))
    return true;
  if ((retry_on & core::kRetryOnRetriable4xx) && status == 409) return true;
  // The gRPC conditions read the grpc-status response header, whatever the HTTP status.
  switch (grpc_status) {
    case 1:
      return (retry_on & core::kRetryOnCancelled) != 0;
    case 4:
      return (retry_on & core::kRetryOnDeadlineExceeded) != 0;
    case 8:
      return (retry_on & core::kRetryOnResourceExhausted) != 0;
    case 13:
      return (retry_on & core::kRetryOnInternal) != 0;
    case 14:
      return (retry_on & core::kRetryOnUnavailable) != 0;
    default:
      return false;
  }
}

int grpc_status_of(const HeadFields& fields) {
  const auto it = fields.find("grpc-status");
  if (it == fields.end()) return -1;
  const std::string_view value = it->value();
  int status = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), status);
  if (ec != std::errc() || end != value.data() + value.size()) return -1;
  return status;
}

bool retriable_connect_failure(uint32_t retry_on) {
  return (retry_on & (core::kRetryOn5xx | core::kRetryOnGatewayError |
                      core::kRetryOnConnectFailure | core::kRetryOnRefusedStream)) != 0;
}

bool retriable_reset(uint32_t retry_on) {
  return (retry_on & (core::kRetryOn5xx | core::kRetryOnGatewayError)) != 0;
}

bool retriable_timeout(uint32_t retry_on) {
  // deadline-exceeded is a grpc-status condition (4), not a proxy-side timeout.
  return (retry_on & (core::kRetryOn5xx | core::kRetryOnGatewayError)) != 0;
}

void begin_log(RequestContext& context, const ConnectionInfo& connection, const HeadFields& fields,
               std::string_view method, std::string_view target, unsigned version) {
  auto& entry = context.log;
  entry.forwarding_rule = connection.forwarding_rule;
  if (context.listener) entry.url_map = context.listener->url_map;
  if (!context.detailed_log) return;
  entry.timestamp = std::chrono::system_clock::now();
  entry.method.assign(method);
  std::string_view host;
  if (auto it = fields.find(http::field::host); it != fields.end()) host = it->value();
  entry.request_url.reserve(16 + host.size() + target.size());
  entry.request_url.assign(connection.https ? "https://" : "http://");
  entry.request_url.append(host);
  entry.request_url.append(target);
  if (auto it = fields.find(http::field::user_agent); it != fields.end())
    entry.user_agent.assign(it->value());
  if (auto it = fields.find(http::field::referer); it != fields.end())
    entry.referer.assign(it->value());
  entry.remote_ip = connection.client_ip;
  entry.protocol = version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  if (connection.https) {
    entry.tls = log::TlsLogInfo{connection.tls_version, connection.tls_cipher, connection.sni};
  }
  if (context.generation && context.generation->snapshot) {
    const auto& snapshot = *context.generation->snapshot;
    entry.project = snapshot.config.project;
    entry.region = snapshot.config.region;
  }
  if (context.listener) {
    entry.network = context.listener->network;
    entry.target_proxy = context.listener->target_proxy;
  }
}

void route_log(RequestContext& context) {
  auto& entry = context.log;
  if (context.routed) entry.backend_service.assign(context.decision.backend_service);
  if (!context.detailed_log) return;
  if (context.url_map && !context.url_map->region.empty()) entry.region = context.url_map->region;
  if (!context.routed) return;
  const auto& decision = context.decision;
  if (!decision.matched_rule.empty()) entry.matched_url_path_rule.assign(decision.matched_rule);
  if (context.target) {
    entry.network_endpoint_group.assign(context.target->network_endpoint_group);
    entry.cloud_run_service.assign(context.target->cloud_run_service);
    entry.tag.assign(context.target->tag);
  }
}

void finish_log(Worker& worker, RequestContext& context) {
  context.log.latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - context.start);
  if (auto* access_log = worker.access_log()) access_log->write(context.log);
  if (auto* metrics = worker.metrics()) {
    metrics->record_request(worker.index(), context.log.forwarding_rule, context.log.url_map,
                            context.log.backend_service, context.log.status, context.log.latency);
  }
}

void make_error_response(LocalResponse& response, RequestContext& context, core::ProxyError error,
                         int configured_status) {
  const auto& info = core::error_info(error);
  const int status = core::error_status(error, configured_status);
  response.result(static_cast<unsigned>(status));
  if (error == core::ProxyError::kDeniedBySecurityPolicy) {
    response.body().assign(core::security_policy_deny_body(status));
  } else {
    response.body().assign(info.body);
  }
  if (!response.body().empty()) response.set(http::field::content_type, info.content_type);
  context.log.proxy_status.assign(info.proxy_status);
  context.log.status_details.assign(info.details);
  if (info.close_connection) context.client_keep_alive = false;
}

void make_standin_response(LocalResponse& response, RequestContext& context,
                           std::string_view method, std::string_view target,
                           const HeadFields& upstream_fields, std::size_t body_length) {
  net::StandinIdentity identity;
  if (context.target) {
    identity.service.assign(context.target->cloud_run_service);
    identity.revision = identity.service + "-00001-std";
    identity.tag.assign(context.target->tag);
  }
  net::EchoRequest echo;
  echo.method = method;
  echo.target = target;
  for (const auto& field : upstream_fields)
    echo.headers.emplace_back(field.name_string(), field.value());
  echo.body_length = body_length;
  response.result(http::status::ok);
  response.body() = net::echo_json(identity, echo);
  response.set(http::field::content_type, "application/json");
  context.log.status_details = "response_sent_by_backend";
  context.log.server_ip = "built-in stand-in";
}

}  // namespace albemu::net
