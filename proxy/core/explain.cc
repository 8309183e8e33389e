#include "proxy/core/explain.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cctype>
#include <charconv>
#include <optional>

#include "config/ip_address.h"
#include "config/load/field_rules.h"
#include "proxy/core/ascii.h"
#include "proxy/core/proxy_error.h"
#include "proxy/core/url_map.h"

namespace albemu::core {

namespace {

struct ParsedUrl {
  std::string scheme;     // "http" | "https"
  std::string authority;  // host[:port] as written
  uint16_t port = 0;      // explicit or the scheme's default
  std::string target;     // path[?query], never empty
};

/// Parses an absolute http(s) URL; nullopt and `error` set otherwise.
std::optional<ParsedUrl> parse_url(std::string_view url, std::string& error) {
  ParsedUrl parsed;
  const std::size_t separator = url.find("://");
  if (separator == std::string_view::npos) {
    error = "URL must be absolute (http://host/path): " + std::string(url);
    return std::nullopt;
  }
  parsed.scheme = std::string(url.substr(0, separator));
  std::transform(parsed.scheme.begin(), parsed.scheme.end(), parsed.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    error = "URL scheme must be http or https: " + std::string(url);
    return std::nullopt;
  }
  std::string_view rest = url.substr(separator + 3);
  rest = rest.substr(0, rest.find('#'));
  const std::size_t authority_end = rest.find_first_of("/?");
  parsed.authority = std::string(rest.substr(0, authority_end));
  parsed.target =
      authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  if (parsed.authority.empty()) {
    error = "URL has no host: " + std::string(url);
    return std::nullopt;
  }
  parsed.port = parsed.scheme == "https" ? 443 : 80;
  // The port follows the last ':' unless that ':' is inside an IPv6 literal's brackets.
  const std::size_t colon = parsed.authority.rfind(':');
  const std::size_t bracket = parsed.authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    const std::string_view digits = std::string_view(parsed.authority).substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        port > 65535) {
      error = "URL has a bad port: " + std::string(url);
      return std::nullopt;
    }
    parsed.port = static_cast<uint16_t>(port);
  }
  return parsed;
}

const core::ListenerPlan* choose_listener(const core::ConfigSnapshot& snapshot,
                                          const ParsedUrl& url) {
  const bool https = url.scheme == "https";
  for (const auto& plan : snapshot.listeners) {
    if (plan.port == url.port && plan.https == https) return &plan;
  }
  for (const auto& plan : snapshot.listeners) {
    if (plan.port == url.port) return &plan;
  }
  return snapshot.listeners.empty() ? nullptr : &snapshot.listeners.front();
}

boost::json::array additions_json(const std::vector<HeaderAddition>& additions) {
  boost::json::array out;
  for (const auto& addition : additions) {
    boost::json::object item{{"headerName", addition.name},
                             {"headerValue", addition.value},
                             {"replace", addition.replace}};
    if (addition.has_variable) {
      // The value is sent with these expanded from the client's connection, its `{{`/`}}`
      // escapes resolved and its ends trimmed; a value without variables is shown as sent.
      boost::json::array variables;
      std::size_t position = 0;
      while (const auto token = config::next_header_value_token(addition.value, position)) {
        if (!token->escape) variables.emplace_back(token->variable(addition.value));
        position = token->close + 1;
      }
      item["variables"] = std::move(variables);
    }
    out.push_back(std::move(item));
  }
  return out;
}

boost::json::array names_json(const std::vector<std::string>& names) {
  boost::json::array out;
  for (const auto& name : names) out.emplace_back(name);
  return out;
}

std::string duration_text(const model::Duration& duration) {
  const double seconds = static_cast<double>(duration.seconds) + duration.nanos / 1e9;
  std::string text = std::to_string(seconds);
  // "1.500000" -> "1.5s", "2.000000" -> "2s"
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text + "s";
}

boost::json::object fault_injection_json(const model::FaultInjectionPolicy& fault) {
  boost::json::object out;
  if (fault.delay) {
    out["delay"] = boost::json::object{{"fixedDelay", duration_text(fault.delay->fixed_delay)},
                                       {"percentage", fault.delay->percentage}};
  }
  if (fault.abort) {
    out["abort"] = boost::json::object{{"httpStatus", fault.abort->http_status},
                                       {"percentage", fault.abort->percentage}};
  }
  return out;
}

const model::BackendService* find_backend_service(const model::Config& config,
                                                  std::string_view name) {
  for (const auto& service : config.backend_services) {
    if (service.name == name) return &service;
  }
  return nullptr;
}

boost::json::object empty_explanation() {
  boost::json::object out;
  for (const char* key : {"forwardingRule",
                          "targetProxy",
                          "urlMap",
                          "hostRule",
                          "pathMatcher",
                          "matchedRule",
                          "action",
                          "backendService",
                          "networkEndpointGroup",
                          "cloudRunService",
                          "tag",
                          "endpoints",
                          "upstreamUrl",
                          "serviceTls",
                          "hops",
                          "warning",
                          "status",
                          "location",
                          "requestHeadersToAdd",
                          "requestHeadersToRemove",
                          "responseHeadersToAdd",
                          "responseHeadersToRemove",
                          "proxyStatus",
                          "faultInjection",
                          "timeoutMs",
                          "error"}) {
    out[key] = nullptr;
  }
  return out;
}

boost::json::object explain_error(boost::json::object out, const std::string& error) {
  out["action"] = "error";
  out["error"] = error;
  return out;
}

bool is_grpc_request(const ExplainRequest& request) {
  return std::any_of(request.headers.begin(), request.headers.end(), [](const auto& header) {
    return iequals_ascii(header.first, "content-type") && is_grpc_content_type(header.second);
  });
}

// The two hops behind the load balancer, as GCP decides them: the backend service's `protocol`
// sets the load balancer -> Cloud Run one (HTTP/HTTPS: HTTP/1.1; HTTP2/H2C: HTTP/2), the
// service's `useHttp2` the Cloud Run -> container one. Warns about a gRPC request that cannot
// work through them.
void explain_hops(const ServerlessTarget& target, bool grpc, boost::json::object& out) {
  boost::json::object hops;
  hops["loadBalancerToCloudRun"] = target.hop_http2 ? "HTTP/2" : "HTTP/1.1";
  hops["cloudRunToContainer"] = target.use_http2 ? "h2c" : "HTTP/1.1";
  out["hops"] = std::move(hops);
  if (!grpc) return;
  if (!target.hop_http2) {
    out["warning"] =
        "gRPC needs HTTP/2 end to end: this backend service's protocol makes the load balancer "
        "reach Cloud Run over HTTP/1.1, which drops the response trailers (grpc-status), so "
        "clients report a stream closed without trailers; set `protocol: HTTP2` on the backend "
        "service";
  } else if (!target.use_http2) {
    out["warning"] =
        "gRPC needs HTTP/2 end to end: Cloud Run service '" +
        std::string(target.cloud_run_service) +
        "' is not deployed with --use-http2 (`useHttp2: true`), so its container gets HTTP/1.1";
  }
}

// How albemu reaches an https:// service at `authority` (host[:port]): the SNI it sends (none
// for an IP literal, RFC 6066), what the certificate is verified against, and the name it
// must carry. Verification is never skipped.
boost::json::object explain_service_tls(const ServerlessTarget& target,
                                        const std::string& authority) {
  std::string host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  const bool ip_literal = config::parse_ip_address(host).has_value();
  boost::json::object tls;
  tls["sni"] = ip_literal ? boost::json::value(nullptr) : boost::json::value(host);
  tls["verifiedName"] = host;
  boost::json::array trust{"system trust store"};
  if (!target.ca_certificate_file.empty()) trust.emplace_back(target.ca_certificate_file);
  tls["trustedCas"] = std::move(trust);
  tls["alpn"] = "http/1.1";
  return tls;
}

}  // namespace

boost::json::object explain_route(const core::ConfigSnapshot& snapshot,
                                  const ExplainRequest& request) {
  boost::json::object out = empty_explanation();

  std::string error;
  const auto url = parse_url(request.url, error);
  if (!url) return explain_error(std::move(out), error);

  // The URL map: from the chosen forwarding rule, or the only one when no rule is declared.
  const core::ListenerPlan* listener = nullptr;
  if (!request.forwarding_rule.empty()) {
    listener = snapshot.find_listener(request.forwarding_rule);
    if (listener == nullptr) {
      return explain_error(std::move(out),
                           "no forwarding rule named '" + request.forwarding_rule + "'");
    }
  } else {
    listener = choose_listener(snapshot, *url);
  }
  std::string_view url_map_name;
  if (listener != nullptr) {
    out["forwardingRule"] = listener->forwarding_rule;
    out["targetProxy"] = listener->target_proxy;
    url_map_name = listener->url_map;
  } else if (snapshot.url_maps.size() == 1) {
    url_map_name = snapshot.url_maps.begin()->first;
  } else {
    return explain_error(std::move(out), "the config has no forwarding rule to route through");
  }
  out["urlMap"] = url_map_name;
  const CompiledUrlMap* url_map = snapshot.find_url_map(url_map_name);
  if (url_map == nullptr) {
    return explain_error(std::move(out),
                         "URL map '" + std::string(url_map_name) + "' is not compiled");
  }

  // The request as the listener would see it; a Host header wins over the URL's authority.
  std::string host = url->authority;
  std::vector<HeaderView> headers;
  bool has_host_header = false;
  for (const auto& [name, value] : request.headers) {
    if (iequals_ascii(name, "host")) {
      host = value;
      has_host_header = true;
    }
    headers.push_back({name, value});
  }
  if (!has_host_header) headers.push_back({"host", host});

  RouteRequest route_request;
  route_request.method = request.method;
  route_request.scheme = url->scheme;
  route_request.host = host;
  route_request.target = url->target;
  route_request.listener_port = listener != nullptr ? listener->port : url->port;
  route_request.headers = headers;

  const RouteDecision decision = url_map->route(route_request);

  if (decision.host_rule_hosts != nullptr) {
    boost::json::array hosts;
    for (const auto& rule_host : *decision.host_rule_hosts) hosts.emplace_back(rule_host);
    out["hostRule"] = std::move(hosts);
  }
  if (!decision.path_matcher.empty()) out["pathMatcher"] = decision.path_matcher;
  out["matchedRule"] =
      decision.matched_rule.empty() ? std::string_view("UNMATCHED") : decision.matched_rule;

  const MergedHeaderActions merged = merge_header_actions(decision);
  out["requestHeadersToAdd"] = additions_json(merged.request_headers_to_add);
  out["requestHeadersToRemove"] = names_json(merged.request_headers_to_remove);
  out["responseHeadersToAdd"] = additions_json(merged.response_headers_to_add);
  out["responseHeadersToRemove"] = names_json(merged.response_headers_to_remove);

  if (decision.action == RouteAction::kRedirect) {
    out["action"] = "redirect";
    out["status"] = decision.status;
    out["location"] = decision.location;
    return out;
  }

  out["backendService"] = decision.backend_service;
  if (decision.policy != nullptr) {
    if (decision.policy->timeout_configured) out["timeoutMs"] = decision.policy->timeout.count();
    if (decision.policy->fault_injection) {
      out["faultInjection"] = fault_injection_json(*decision.policy->fault_injection);
      const auto& abort = decision.policy->fault_injection->abort;
      if (abort && abort->percentage >= 100.0) {
        // Every request is aborted: that is the decision, whatever the backend would be.
        out["action"] = "abort";
        out["status"] = error_status(ProxyError::kFaultAbort, static_cast<int>(abort->http_status));
        out["proxyStatus"] = error_info(ProxyError::kFaultAbort).proxy_status;
        return out;
      }
    }
  }

  // URL masks read the client's original host and path, not the rewritten ones.
  const std::string_view original_path =
      std::string_view(url->target).substr(0, url->target.find('?'));
  const auto target =
      snapshot.resolver != nullptr
          ? snapshot.resolver->resolve(decision.backend_service, host, original_path)
          : std::nullopt;
  if (!target) {
    const ErrorInfo& info = error_info(ProxyError::kFailedToPickBackend);
    out["action"] = "error";
    out["status"] = info.status;
    out["proxyStatus"] = info.proxy_status;
    out["error"] = "no Cloud Run service for backend service '" +
                   std::string(decision.backend_service) + "' and this host/path";
    return out;
  }

  out["action"] = "forward";
  out["networkEndpointGroup"] = target->network_endpoint_group;
  out["cloudRunService"] = target->cloud_run_service;
  if (!target->tag.empty()) out["tag"] = target->tag;
  boost::json::array endpoints;
  if (target->endpoints != nullptr) {
    for (const auto& endpoint : *target->endpoints) endpoints.emplace_back(endpoint);
  }
  out["endpoints"] = std::move(endpoints);

  const model::BackendService* backend_service =
      find_backend_service(snapshot.config, decision.backend_service);
  const bool upstream_tls = backend_service != nullptr && (backend_service->protocol == "HTTPS" ||
                                                           backend_service->protocol == "HTTP2");
  const std::string& upstream_host = decision.upstream_host.empty() ? host : decision.upstream_host;
  const std::string& upstream_target =
      decision.upstream_target.empty() ? url->target : decision.upstream_target;
  out["upstreamUrl"] =
      std::string(upstream_tls ? "https://" : "http://") + upstream_host + upstream_target;
  // An https:// service URL: albemu itself connects to it, over TLS.
  if (target->endpoints != nullptr && !target->endpoints->empty() &&
      target->endpoints->front().starts_with("https://")) {
    const std::string& url = target->endpoints->front();
    const std::string authority = url.substr(8, url.find('/', 8) - 8);
    out["upstreamUrl"] = "https://" +
                         (decision.upstream_host.empty() ? authority : decision.upstream_host) +
                         upstream_target;
    out["serviceTls"] = explain_service_tls(*target, authority);
  }
  explain_hops(*target, is_grpc_request(request), out);
  return out;
}

}  // namespace albemu::core
