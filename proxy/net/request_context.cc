#include "proxy/net/request_context.h"

#include <boost/beast/http/field.hpp>
#include <charconv>

#include "proxy/core/log_policy.h"
#include "proxy/core/url_map.h"
#include "proxy/log/metrics.h"
#include "proxy/net/standin_echo.h"

namespace albemu::net {

const ClientTlsInfo& ConnectionInfo::tls_info() const {
  static const ClientTlsInfo kNone;
  return tls ? *tls : kNone;
}

VariableContext ConnectionInfo::variables() const {
  const ClientTlsInfo& tls = tls_info();
  VariableContext variables;
  variables.client_ip_address = client_ip;
  variables.tls_sni_hostname = tls.sni;
  variables.tls_version = tls.version;
  variables.tls_cipher_suite = tls.cipher_id;
  variables.tls_ja3_fingerprint = tls.ja3_fingerprint;
  variables.tls_ja4_fingerprint = tls.ja4_fingerprint;
  variables.client_cert = tls.client_cert.get();
  return variables;
}

PlanCache::Plan PlanCache::get(const Worker& worker, std::string_view forwarding_rule) {
  const auto& generation = worker.generation();
  if (generation != generation_) {
    generation_ = generation;
    plan_ = {nullptr, nullptr};
    if (generation && generation->snapshot) {
      plan_.first = generation->snapshot->find_listener(forwarding_rule);
      if (plan_.first) plan_.second = generation->snapshot->find_url_map(plan_.first->url_map);
    }
  }
  return plan_;
}

namespace http = boost::beast::http;

void RequestContext::reset() {
  generation.reset();
  listener = nullptr;
  url_map = nullptr;
  decision.reset();
  routed = false;
  target.reset();
  header_views.clear();
  cors_headers.clear();
  log.reset();
  start = {};
  client_keep_alive = true;
  is_head = false;
  websocket = false;
  grpc = false;
  detailed_log = true;
}

void collect_header_views(const HeadFields& fields, std::vector<core::HeaderView>& views) {
  views.clear();
  for (const auto& field : fields) views.push_back({field.name_string(), field.value()});
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
  entry.protocol = version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  if (connection.https) {
    // albemu takes no TLS early data (tlsEarlyData is DISABLED only).
    const ClientTlsInfo& tls = connection.tls_info();
    entry.tls = log::TlsLogInfo{std::string(tls.version), std::string(tls.cipher), tls.sni, false};
    entry.mtls = tls.client_cert;
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

void log_rejected_handshake(Worker& worker, const ConnectionInfo& connection,
                            std::string_view reason) {
  log::AccessLog* access_log = worker.access_log();
  if (access_log == nullptr) return;
  log::AccessLogEntry entry;
  entry.timestamp = std::chrono::system_clock::now();
  entry.forwarding_rule = connection.forwarding_rule;
  entry.remote_ip = connection.client_ip;
  entry.status_details.assign(reason);
  if (const auto& generation = worker.generation(); generation && generation->snapshot) {
    const core::ConfigSnapshot& snapshot = *generation->snapshot;
    entry.project = snapshot.config.project;
    entry.region = snapshot.config.region;
    if (const core::ListenerPlan* plan = snapshot.find_listener(connection.forwarding_rule)) {
      entry.url_map = plan->url_map;
      entry.target_proxy = plan->target_proxy;
      entry.network = plan->network;
    }
  }
  access_log->write(entry);
}

void finish_log(Worker& worker, RequestContext& context) {
  context.log.latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - context.start);
  if (auto* access_log = worker.access_log()) {
    const core::LogPolicy* policy = nullptr;
    if (context.generation && context.generation->snapshot &&
        !context.log.backend_service.empty()) {
      policy = context.generation->snapshot->find_log_policy(context.log.backend_service);
    }
    const core::LogFacts facts{policy, context.target.has_value(), context.log.status};
    if (core::should_log_request(facts, worker.draw_log_sample())) {
      log::keep_optional_fields(context.log, core::logged_optional_fields(policy));
      access_log->write(context.log);
    }
  }
  if (auto* metrics = worker.metrics()) {
    metrics->record_request(worker.index(), context.log.forwarding_rule, context.log.url_map,
                            context.log.backend_service, context.log.status, context.log.protocol,
                            context.log.latency);
  }
}

void transform_upstream_head(RequestHead& head, RequestContext& context,
                             const ConnectionInfo& connection, bool body_expected) {
  context.websocket = !body_expected && is_websocket_upgrade(head);
  if (!context.decision.upstream_target.empty()) head.target(context.decision.upstream_target);
  head.erase(http::field::expect);
  const VariableContext variables = connection.variables();
  const UpstreamRequestContext upstream{connection.client_ip, connection.local_ip, connection.https,
                                        &variables, !body_expected};
  transform_upstream_request(head, context.decision, upstream);
}

void make_error_response(ResponseHead& head, std::string& body, RequestContext& context,
                         core::ProxyError error, int configured_status, std::string_view reason) {
  const auto& info = core::error_info(error);
  const int status = core::error_status(error, configured_status);
  head.clear();
  head.start_response(static_cast<unsigned>(status), {}, 11);
  if (error == core::ProxyError::kDeniedBySecurityPolicy) {
    body.assign(core::security_policy_deny_body(status));
  } else {
    body.assign(info.body);
    body += reason;
  }
  if (context.grpc) {
    // The reason goes into grpc-message: the plain-text body, else the log's details.
    const std::string_view message =
        info.content_type == "text/plain" && !body.empty() ? std::string_view(body) : info.details;
    const int grpc_status = core::grpc_status_for_http(status);
    char digits[4];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, grpc_status);
    head.start_response(200, {}, 11);
    head.set(http::field::content_type, "application/grpc");
    head.set("grpc-status", std::string_view(digits, static_cast<std::size_t>(end - digits)));
    head.set("grpc-message", message);
    body.clear();
  } else if (!body.empty()) {
    head.set(http::field::content_type, info.content_type);
  }
  context.log.proxy_status.assign(info.proxy_status);
  context.log.status_details.assign(info.details);
  if (info.close_connection) context.client_keep_alive = false;
}

void make_standin_response(ResponseHead& head, std::string& body, RequestContext& context,
                           std::string_view method, std::string_view target,
                           const HeadFields& upstream_fields, std::size_t body_length) {
  StandinIdentity identity;
  if (context.target) {
    identity.service.assign(context.target->cloud_run_service);
    identity.revision = identity.service + "-00001-std";
    identity.tag.assign(context.target->tag);
  }
  EchoRequest echo;
  echo.method = method;
  echo.target = target;
  for (const auto& field : upstream_fields)
    echo.headers.emplace_back(field.name_string(), field.value());
  echo.body_length = body_length;
  body = echo_json(identity, echo);
  head.clear();
  head.start_response(200, {}, 11);
  head.set(http::field::content_type, "application/json");
  context.log.status_details = "response_sent_by_backend";
  context.log.server_ip = "built-in stand-in";
}

}  // namespace albemu::net
