#include "proxy/admin/config_json.h"

#include <boost/json.hpp>

namespace albemu::admin {

namespace json = boost::json;

namespace {

// Small setters that leave out what the user did not write.
void put(json::object& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}
void put(json::object& out, const char* key, const model::ResourceRef& ref) {
  if (!ref.empty()) out[key] = ref.text.empty() ? ref.name : ref.text;
}
template <class T>
void put(json::object& out, const char* key, const std::optional<T>& value) {
  if (value) put(out, key, *value);
}
void put(json::object& out, const char* key, bool value) {
  if (value) out[key] = true;
}
template <class T>
requires std::is_arithmetic_v<T>
void put_number(json::object& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}
void put(json::object& out, const char* key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  json::array array;
  for (const auto& value : values) array.emplace_back(value);
  out[key] = std::move(array);
}
template <class T, class F>
void put_list(json::object& out, const char* key, const std::vector<T>& values, F to_json) {
  if (values.empty()) return;
  json::array array;
  for (const auto& value : values) array.push_back(to_json(value));
  out[key] = std::move(array);
}

json::object duration_json(const model::Duration& duration) {
  json::object out{{"seconds", duration.seconds}};
  if (duration.nanos != 0) out["nanos"] = duration.nanos;
  return out;
}

json::object header_action_json(const model::HttpHeaderAction& action) {
  const auto addition = [](const model::HeaderToAdd& header) {
    json::object out{{"headerName", header.header_name}, {"headerValue", header.header_value}};
    if (header.replace) out["replace"] = *header.replace;
    return out;
  };
  json::object out;
  put_list(out, "requestHeadersToAdd", action.request_headers_to_add, addition);
  put(out, "requestHeadersToRemove", action.request_headers_to_remove);
  put_list(out, "responseHeadersToAdd", action.response_headers_to_add, addition);
  put(out, "responseHeadersToRemove", action.response_headers_to_remove);
  return out;
}

const char* redirect_code_name(model::RedirectResponseCode code) {
  switch (code) {
    case model::RedirectResponseCode::kMovedPermanentlyDefault:
      return "MOVED_PERMANENTLY_DEFAULT";
    case model::RedirectResponseCode::kFound:
      return "FOUND";
    case model::RedirectResponseCode::kSeeOther:
      return "SEE_OTHER";
    case model::RedirectResponseCode::kTemporaryRedirect:
      return "TEMPORARY_REDIRECT";
    case model::RedirectResponseCode::kPermanentRedirect:
      return "PERMANENT_REDIRECT";
  }
  return "MOVED_PERMANENTLY_DEFAULT";
}

json::object redirect_json(const model::HttpRedirectAction& redirect) {
  json::object out;
  put(out, "hostRedirect", redirect.host_redirect);
  put(out, "pathRedirect", redirect.path_redirect);
  put(out, "prefixRedirect", redirect.prefix_redirect);
  put(out, "httpsRedirect", redirect.https_redirect);
  put(out, "stripQuery", redirect.strip_query);
  out["redirectResponseCode"] = redirect_code_name(redirect.redirect_response_code);
  return out;
}

json::object route_action_json(const model::HttpRouteAction& action) {
  json::object out;
  put_list(out, "weightedBackendServices", action.weighted_backend_services,
           [](const model::WeightedBackendService& weighted) {
             json::object item;
             put(item, "backendService", weighted.backend_service);
             item["weight"] = weighted.weight;
             if (weighted.header_action)
               item["headerAction"] = header_action_json(*weighted.header_action);
             return item;
           });
  if (action.url_rewrite) {
    json::object rewrite;
    put(rewrite, "hostRewrite", action.url_rewrite->host_rewrite);
    put(rewrite, "pathPrefixRewrite", action.url_rewrite->path_prefix_rewrite);
    put(rewrite, "pathTemplateRewrite", action.url_rewrite->path_template_rewrite);
    out["urlRewrite"] = std::move(rewrite);
  }
  if (action.timeout) out["timeout"] = duration_json(*action.timeout);
  if (action.retry_policy) {
    json::object retry;
    put(retry, "retryConditions", action.retry_policy->retry_conditions);
    put_number(retry, "numRetries", action.retry_policy->num_retries);
    if (action.retry_policy->per_try_timeout) {
      retry["perTryTimeout"] = duration_json(*action.retry_policy->per_try_timeout);
    }
    out["retryPolicy"] = std::move(retry);
  }
  if (action.request_mirror_policy) {
    json::object mirror;
    put(mirror, "backendService", action.request_mirror_policy->backend_service);
    put_number(mirror, "mirrorPercent", action.request_mirror_policy->mirror_percent);
    out["requestMirrorPolicy"] = std::move(mirror);
  }
  if (action.cors_policy) {
    const auto& cors = *action.cors_policy;
    json::object policy;
    put(policy, "allowOrigins", cors.allow_origins);
    put(policy, "allowMethods", cors.allow_methods);
    put(policy, "allowHeaders", cors.allow_headers);
    put(policy, "exposeHeaders", cors.expose_headers);
    put_number(policy, "maxAge", cors.max_age);
    put(policy, "allowCredentials", cors.allow_credentials);
    put(policy, "disabled", cors.disabled);
    out["corsPolicy"] = std::move(policy);
  }
  if (action.fault_injection_policy) {
    json::object fault;
    if (action.fault_injection_policy->delay) {
      fault["delay"] = json::object{
          {"fixedDelay", duration_json(action.fault_injection_policy->delay->fixed_delay)},
          {"percentage", action.fault_injection_policy->delay->percentage}};
    }
    if (action.fault_injection_policy->abort) {
      fault["abort"] =
          json::object{{"httpStatus", action.fault_injection_policy->abort->http_status},
                       {"percentage", action.fault_injection_policy->abort->percentage}};
    }
    out["faultInjectionPolicy"] = std::move(fault);
  }
  return out;
}

json::object header_match_json(const model::HttpHeaderMatch& match) {
  json::object out{{"headerName", match.header_name}};
  put(out, "exactMatch", match.exact_match);
  put(out, "prefixMatch", match.prefix_match);
  put(out, "suffixMatch", match.suffix_match);
  put(out, "regexMatch", match.regex_match);
  if (match.present_match) out["presentMatch"] = *match.present_match;
  if (match.range_match) {
    out["rangeMatch"] = json::object{{"rangeStart", match.range_match->range_start},
                                     {"rangeEnd", match.range_match->range_end}};
  }
  put(out, "invertMatch", match.invert_match);
  return out;
}

json::object match_rule_json(const model::HttpRouteRuleMatch& match) {
  json::object out;
  put(out, "prefixMatch", match.prefix_match);
  put(out, "fullPathMatch", match.full_path_match);
  put(out, "regexMatch", match.regex_match);
  put(out, "pathTemplateMatch", match.path_template_match);
  put(out, "ignoreCase", match.ignore_case);
  put_list(out, "headerMatches", match.header_matches, header_match_json);
  put_list(out, "queryParameterMatches", match.query_parameter_matches,
           [](const model::HttpQueryParameterMatch& query) {
             json::object item{{"name", query.name}};
             put(item, "exactMatch", query.exact_match);
             put(item, "regexMatch", query.regex_match);
             if (query.present_match) item["presentMatch"] = *query.present_match;
             return item;
           });
  return out;
}

/// The fields a URL map and a path matcher share (defaults and header action).
template <class T>
void put_defaults(json::object& out, const T& resource) {
  put(out, "defaultService", resource.default_service);
  if (resource.default_route_action)
    out["defaultRouteAction"] = route_action_json(*resource.default_route_action);
  if (resource.default_url_redirect)
    out["defaultUrlRedirect"] = redirect_json(*resource.default_url_redirect);
  if (resource.header_action) out["headerAction"] = header_action_json(*resource.header_action);
}

/// The routing fields a route rule and a path rule share.
template <class T>
void put_routing(json::object& out, const T& rule) {
  put(out, "service", rule.service);
  if (rule.route_action) out["routeAction"] = route_action_json(*rule.route_action);
  if (rule.url_redirect) out["urlRedirect"] = redirect_json(*rule.url_redirect);
}

json::object path_matcher_json(const model::PathMatcher& matcher) {
  json::object out{{"name", matcher.name}};
  put(out, "description", matcher.description);
  put_defaults(out, matcher);
  put_list(out, "pathRules", matcher.path_rules, [](const model::PathRule& rule) {
    json::object item;
    put(item, "paths", rule.paths);
    put_routing(item, rule);
    return item;
  });
  put_list(out, "routeRules", matcher.route_rules, [](const model::HttpRouteRule& rule) {
    json::object item{{"priority", rule.priority}};
    put(item, "description", rule.description);
    put_list(item, "matchRules", rule.match_rules, match_rule_json);
    put_routing(item, rule);
    if (rule.header_action) item["headerAction"] = header_action_json(*rule.header_action);
    return item;
  });
  return out;
}

/// Fields every resource has.
template <class T>
json::object resource_json(const T& resource) {
  json::object out{{"name", resource.name}};
  put(out, "description", resource.description);
  return out;
}

template <class T>
json::object regional_json(const T& resource) {
  json::object out = resource_json(resource);
  put(out, "project", resource.project);
  put(out, "region", resource.region);
  return out;
}

json::object url_map_json(const model::UrlMap& url_map) {
  json::object out = regional_json(url_map);
  put_defaults(out, url_map);
  put_list(out, "hostRules", url_map.host_rules, [](const model::HostRule& rule) {
    json::object item;
    put(item, "description", rule.description);
    put(item, "hosts", rule.hosts);
    item["pathMatcher"] = rule.path_matcher;
    return item;
  });
  put_list(out, "pathMatchers", url_map.path_matchers, path_matcher_json);
  put_list(out, "tests", url_map.tests, [](const model::UrlMapTest& test) {
    json::object item;
    put(item, "description", test.description);
    item["host"] = test.host;
    item["path"] = test.path;
    put_list(item, "headers", test.headers, [](const model::UrlMapTestHeader& header) {
      return json::object{{"name", header.name}, {"value", header.value}};
    });
    put(item, "service", test.service);
    put(item, "expectedOutputUrl", test.expected_output_url);
    put_number(item, "expectedRedirectResponseCode", test.expected_redirect_response_code);
    return item;
  });
  return out;
}

json::object cloud_run_service_json(const model::CloudRunService& service) {
  json::object out{{"name", service.name}};
  put(out, "project", service.project);
  put(out, "region", service.region);
  out["ingress"] = service.ingress;
  put(out, "urls", service.urls);
  put(out, "useHttp2", service.use_http2);
  put(out, "caCertificateFile", service.ca_certificate_file);
  if (!service.tags.empty()) {
    json::object tags;
    for (const auto& [tag, urls] : service.tags) {
      json::array list;
      for (const auto& url : urls) list.emplace_back(url);
      tags[tag] = std::move(list);
    }
    out["tags"] = std::move(tags);
  }
  return out;
}

json::object neg_json(const model::NetworkEndpointGroup& neg) {
  json::object out = regional_json(neg);
  put(out, "networkEndpointType", neg.network_endpoint_type);
  if (neg.cloud_run) {
    json::object cloud_run;
    put(cloud_run, "service", neg.cloud_run->service);
    put(cloud_run, "tag", neg.cloud_run->tag);
    put(cloud_run, "urlMask", neg.cloud_run->url_mask);
    out["cloudRun"] = std::move(cloud_run);
  }
  return out;
}

json::object backend_service_json(const model::BackendService& service) {
  json::object out = regional_json(service);
  put(out, "loadBalancingScheme", service.load_balancing_scheme);
  put(out, "protocol", service.protocol);
  put_list(out, "backends", service.backends, [](const model::Backend& backend) {
    json::object item;
    put(item, "group", backend.group);
    put(item, "balancingMode", backend.balancing_mode);
    put_number(item, "capacityScaler", backend.capacity_scaler);
    put(item, "description", backend.description);
    return item;
  });
  put(out, "securityPolicy", service.security_policy);
  if (service.log_config) {
    json::object log_config{{"enable", service.log_config->enable}};
    put_number(log_config, "sampleRate", service.log_config->sample_rate);
    put(log_config, "optionalMode", service.log_config->optional_mode);
    put(log_config, "optionalFields", service.log_config->optional_fields);
    out["logConfig"] = std::move(log_config);
  }
  return out;
}

json::object security_policy_json(const model::SecurityPolicy& policy) {
  json::object out = regional_json(policy);
  put(out, "type", policy.type);
  put_list(out, "rules", policy.rules, [](const model::SecurityPolicyRule& rule) {
    json::object item{{"priority", rule.priority}, {"action", rule.action}};
    put(item, "description", rule.description);
    put(item, "preview", rule.preview);
    if (rule.match) {
      json::object match;
      put(match, "versionedExpr", rule.match->versioned_expr);
      json::object config;
      put(config, "srcIpRanges", rule.match->src_ip_ranges);
      match["config"] = std::move(config);
      item["match"] = std::move(match);
    }
    if (rule.rate_limit_options) {
      const auto& options = *rule.rate_limit_options;
      json::object rate{{"rateLimitThreshold",
                         json::object{{"count", options.rate_limit_threshold.count},
                                      {"intervalSec", options.rate_limit_threshold.interval_sec}}},
                        {"conformAction", options.conform_action},
                        {"exceedAction", options.exceed_action},
                        {"enforceOnKey", options.enforce_on_key}};
      put(rate, "enforceOnKeyName", options.enforce_on_key_name);
      item["rateLimitOptions"] = std::move(rate);
    }
    return item;
  });
  json::object advanced;
  put(advanced, "userIpRequestHeaders", policy.user_ip_request_headers);
  put(advanced, "logLevel", policy.log_level);
  out["advancedOptionsConfig"] = std::move(advanced);
  return out;
}

json::object ssl_certificate_json(const model::SslCertificate& certificate) {
  // PEM text stays out: the private key has no business on an HTTP endpoint.
  json::object out = regional_json(certificate);
  put(out, "certificateFile", certificate.certificate_file);
  put(out, "privateKeyFile", certificate.private_key_file);
  return out;
}

json::object ssl_policy_json(const model::SslPolicy& policy) {
  json::object out = regional_json(policy);
  out["profile"] = policy.profile;
  out["minTlsVersion"] = policy.min_tls_version;
  put(out, "customFeatures", policy.custom_features);
  return out;
}

/// How many certificates, and the files they came from; the PEM text itself stays out.
json::object certificates_json(const std::vector<model::PemCertificate>& certificates) {
  json::object out;
  out["count"] = certificates.size();
  json::array files;
  for (const auto& certificate : certificates)
    if (!certificate.file.empty()) files.emplace_back(certificate.file);
  if (!files.empty()) out["files"] = std::move(files);
  return out;
}

json::object trust_config_json(const model::TrustConfig& trust) {
  json::object out = regional_json(trust);
  json::array stores;
  for (const model::TrustStore& store : trust.trust_stores) {
    stores.emplace_back(
        json::object{{"trustAnchors", certificates_json(store.trust_anchors)},
                     {"intermediateCas", certificates_json(store.intermediate_cas)}});
  }
  out["trustStores"] = std::move(stores);
  out["allowlistedCertificates"] = certificates_json(trust.allowlisted_certificates);
  return out;
}

json::object server_tls_policy_json(const model::ServerTlsPolicy& policy) {
  json::object out = regional_json(policy);
  json::object mtls{{"clientValidationMode", policy.client_validation_mode}};
  put(mtls, "clientValidationTrustConfig", policy.client_validation_trust_config);
  out["mtlsPolicy"] = std::move(mtls);
  return out;
}

template <class T>
json::object target_proxy_json(const T& proxy) {
  json::object out = regional_json(proxy);
  put(out, "urlMap", proxy.url_map);
  put_number(out, "httpKeepAliveTimeoutSec", proxy.http_keep_alive_timeout_sec);
  return out;
}

json::object forwarding_rule_json(const model::ForwardingRule& rule) {
  json::object out = regional_json(rule);
  put(out, "IPAddress", rule.ip_address);
  put(out, "IPProtocol", rule.ip_protocol);
  put(out, "portRange", rule.port_range);
  put(out, "loadBalancingScheme", rule.load_balancing_scheme);
  put(out, "target", rule.target);
  put(out, "network", rule.network);
  put(out, "subnetwork", rule.subnetwork);
  put(out, "allowGlobalAccess", rule.allow_global_access);
  put(out, "networkTier", rule.network_tier);
  return out;
}

}  // namespace

json::object config_to_json(const model::Config& config) {
  json::object out{{"project", config.project}, {"region", config.region}};
  put_list(out, "networks", config.networks, [](const model::Network& network) {
    json::object item = resource_json(network);
    put(item, "project", network.project);
    put(item, "autoCreateSubnetworks", network.auto_create_subnetworks);
    return item;
  });
  put_list(out, "subnetworks", config.subnetworks, [](const model::Subnetwork& subnetwork) {
    json::object item = regional_json(subnetwork);
    put(item, "network", subnetwork.network);
    put(item, "ipCidrRange", subnetwork.ip_cidr_range);
    put(item, "purpose", subnetwork.purpose);
    put(item, "role", subnetwork.role);
    return item;
  });
  put_list(out, "cloudRunServices", config.cloud_run_services, cloud_run_service_json);
  put_list(out, "networkEndpointGroups", config.network_endpoint_groups, neg_json);
  put_list(out, "backendServices", config.backend_services, backend_service_json);
  put_list(out, "securityPolicies", config.security_policies, security_policy_json);
  put_list(out, "urlMaps", config.url_maps, url_map_json);
  put_list(out, "sslCertificates", config.ssl_certificates, ssl_certificate_json);
  put_list(out, "sslPolicies", config.ssl_policies, ssl_policy_json);
  put_list(out, "trustConfigs", config.trust_configs, trust_config_json);
  put_list(out, "serverTlsPolicies", config.server_tls_policies, server_tls_policy_json);
  put_list(out, "targetHttpProxies", config.target_http_proxies,
           [](const model::TargetHttpProxy& proxy) { return target_proxy_json(proxy); });
  put_list(out, "targetHttpsProxies", config.target_https_proxies,
           [](const model::TargetHttpsProxy& proxy) {
             json::object item = target_proxy_json(proxy);
             json::array certificates;
             for (const auto& ref : proxy.ssl_certificates)
               certificates.emplace_back(ref.text.empty() ? ref.name : ref.text);
             item["sslCertificates"] = std::move(certificates);
             put(item, "sslPolicy", proxy.ssl_policy);
             put(item, "serverTlsPolicy", proxy.server_tls_policy);
             return item;
           });
  put_list(out, "forwardingRules", config.forwarding_rules, forwarding_rule_json);
  return out;
}

}  // namespace albemu::admin
