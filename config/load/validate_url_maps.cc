// URL maps: every backend service reference, path matcher names, hosts across host rules,
// httpsRedirect behind HTTPS proxies and mirror policies.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/load/validate_context.h"

namespace albemu::config::validation {

namespace {

std::string index_field(std::string_view list, std::size_t index) {
  return "." + std::string(list) + "[" + std::to_string(index) + "]";
}

/// Walks one URL map, checking references and collecting httpsRedirect fields.
class UrlMapChecker {
 public:
  UrlMapChecker(Validator& validator, const model::UrlMap& url_map)
      : validator_(validator), url_map_(url_map), from_(validator.url_maps.referrer(url_map)) {}

  void run() {
    check_service(".defaultService", url_map_.default_service);
    check_route_action(".defaultRouteAction", url_map_.default_route_action);
    note_redirect(".defaultUrlRedirect", url_map_.default_url_redirect);
    check_path_matchers();
    check_host_rules();
    for (std::size_t i = 0; i < url_map_.tests.size(); ++i) {
      check_service(index_field("tests", i) + ".service", url_map_.tests[i].service);
    }
    check_https_redirects();
  }

 private:
  void check_service(const std::string& field, const std::optional<model::ResourceRef>& ref) {
    if (ref) validator_.resolve(from_, field, *ref, validator_.backend_services);
  }

  void check_route_action(const std::string& field,
                          const std::optional<model::HttpRouteAction>& action) {
    if (!action) return;
    for (std::size_t i = 0; i < action->weighted_backend_services.size(); ++i) {
      validator_.resolve(
          from_, field + index_field("weightedBackendServices", i) + ".backendService",
          action->weighted_backend_services[i].backend_service, validator_.backend_services);
    }
    if (action->request_mirror_policy) {
      const std::string mirror_field = field + ".requestMirrorPolicy.backendService";
      const model::BackendService* mirror =
          validator_.resolve(from_, mirror_field, action->request_mirror_policy->backend_service,
                             validator_.backend_services);
      if (mirror != nullptr) {
        // Every backend service albemu serves has a serverless NEG backend (check_backends
        // rejects anything else), and GCP cannot mirror to serverless NEGs.
        validator_.error(from_, mirror_field,
                         "unsupported mirror target: backend service \"" + mirror->name +
                             "\" has a serverless NEG backend, and serverless NEGs cannot be "
                             "request mirror targets");
      }
    }
  }

  void note_redirect(const std::string& field,
                     const std::optional<model::HttpRedirectAction>& redirect) {
    if (redirect && redirect->https_redirect) https_redirects_.push_back(field + ".httpsRedirect");
  }

  void check_path_matchers() {
    std::map<std::string, std::size_t> first_by_name;
    for (std::size_t i = 0; i < url_map_.path_matchers.size(); ++i) {
      const model::PathMatcher& matcher = url_map_.path_matchers[i];
      const std::string field = index_field("pathMatchers", i);
      // An empty name is the loader's "is required" error.
      auto [it, inserted] = first_by_name.try_emplace(matcher.name, i);
      if (!matcher.name.empty() && !inserted) {
        validator_.error(from_, field + ".name",
                         "duplicate path matcher: pathMatchers[" + std::to_string(it->second) +
                             "] is already named \"" + matcher.name + "\"");
      }
      check_service(field + ".defaultService", matcher.default_service);
      check_route_action(field + ".defaultRouteAction", matcher.default_route_action);
      note_redirect(field + ".defaultUrlRedirect", matcher.default_url_redirect);
      for (std::size_t j = 0; j < matcher.path_rules.size(); ++j) {
        const model::PathRule& rule = matcher.path_rules[j];
        const std::string rule_field = field + index_field("pathRules", j);
        check_service(rule_field + ".service", rule.service);
        check_route_action(rule_field + ".routeAction", rule.route_action);
        note_redirect(rule_field + ".urlRedirect", rule.url_redirect);
      }
      for (std::size_t j = 0; j < matcher.route_rules.size(); ++j) {
        const model::HttpRouteRule& rule = matcher.route_rules[j];
        const std::string rule_field = field + index_field("routeRules", j);
        check_service(rule_field + ".service", rule.service);
        check_route_action(rule_field + ".routeAction", rule.route_action);
        note_redirect(rule_field + ".urlRedirect", rule.url_redirect);
      }
    }
  }

  void check_host_rules() {
    // Hosts compare case-insensitively, as the data plane matches them.
    std::map<std::string, std::string> first_field_by_host;
    for (std::size_t i = 0; i < url_map_.host_rules.size(); ++i) {
      const model::HostRule& rule = url_map_.host_rules[i];
      const std::string field = index_field("hostRules", i);
      const bool known = std::any_of(
          url_map_.path_matchers.begin(), url_map_.path_matchers.end(),
          [&](const model::PathMatcher& matcher) { return matcher.name == rule.path_matcher; });
      if (!known && !rule.path_matcher.empty()) {
        validator_.error(from_, field + ".pathMatcher",
                         "unresolved reference: URL map \"" + url_map_.name +
                             "\" has no path matcher named \"" + rule.path_matcher + "\"");
      }
      for (std::size_t j = 0; j < rule.hosts.size(); ++j) {
        std::string host = rule.hosts[j];
        std::transform(host.begin(), host.end(), host.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const std::string host_field = field + index_field("hosts", j);
        auto [it, inserted] = first_field_by_host.try_emplace(host, host_field);
        if (!inserted) {
          validator_.error(from_, host_field,
                           "duplicate host: \"" + rule.hosts[j] + "\" already appears at " +
                               from_.path + it->second +
                               "; a host may belong to only one host rule");
        }
      }
    }
  }

  /// httpsRedirect makes the map answer plain-HTTP requests with a redirect to HTTPS; GCP
  /// accepts it only on maps that no TargetHttpsProxy uses.
  void check_https_redirects() {
    if (https_redirects_.empty()) return;
    const auto& proxies = validator_.target_https_proxies;
    for (const model::TargetHttpsProxy& proxy : proxies.items()) {
      const Referrer proxy_from = proxies.referrer(proxy);
      if (validator_.lookup(proxy_from, proxy.url_map, validator_.url_maps) != &url_map_) continue;
      for (const std::string& field : https_redirects_) {
        validator_.error(from_, field,
                         "httpsRedirect on a URL map used by an HTTPS proxy: " + proxy_from.path +
                             (proxy.origin.file.empty() ? "" : " (in " + proxy.origin.file + ")") +
                             " uses this URL map; httpsRedirect is allowed only when every "
                             "target proxy using the map is a target HTTP proxy");
      }
    }
  }

  Validator& validator_;
  const model::UrlMap& url_map_;
  const Referrer from_;
  std::vector<std::string> https_redirects_;
};

}  // namespace

void check_url_maps(Validator& validator) {
  for (const model::UrlMap& url_map : validator.config().url_maps) {
    UrlMapChecker(validator, url_map).run();
  }
}

}  // namespace albemu::config::validation
