// URL maps: every backend service reference, path matcher names, hosts across host rules,
// httpsRedirect behind HTTPS proxies and mirror policies.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/load/validate_context.h"

namespace albemu::config::validation {

namespace {

/// Walks one URL map, checking references and collecting httpsRedirect fields.
class UrlMapChecker {
 public:
  UrlMapChecker(Validator& validator, const model::UrlMap& url_map)
      : validator_(validator), url_map_(url_map), from_(validator.url_maps.referrer(url_map)) {}

  void run() {
    check_service(FieldPath(root_, "defaultService"), url_map_.default_service);
    check_route_action(FieldPath(root_, "defaultRouteAction"), url_map_.default_route_action);
    note_redirect(FieldPath(root_, "defaultUrlRedirect"), url_map_.default_url_redirect);
    check_path_matchers();
    check_host_rules();
    for (std::size_t i = 0; i < url_map_.tests.size(); ++i) {
      const FieldPath test(root_, "tests", i);
      check_service(FieldPath(test, "service"), url_map_.tests[i].service);
    }
    check_https_redirects();
  }

 private:
  void check_service(const FieldPath& field, const std::optional<model::ResourceRef>& ref) {
    if (ref) validator_.resolve(from_, field, *ref, validator_.backend_services);
  }

  void check_route_action(const FieldPath& field,
                          const model::Boxed<model::HttpRouteAction>& action) {
    if (!action) return;
    for (std::size_t i = 0; i < action->weighted_backend_services.size(); ++i) {
      const FieldPath weighted(field, "weightedBackendServices", i);
      validator_.resolve(from_, FieldPath(weighted, "backendService"),
                         action->weighted_backend_services[i].backend_service,
                         validator_.backend_services);
    }
    if (action->request_mirror_policy) {
      const FieldPath mirror_policy(field, "requestMirrorPolicy");
      const std::string mirror_field = FieldPath(mirror_policy, "backendService").str();
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

  void note_redirect(const FieldPath& field,
                     const model::Boxed<model::HttpRedirectAction>& redirect) {
    if (redirect && redirect->https_redirect) {
      https_redirects_.push_back(FieldPath(field, "httpsRedirect").str());
    }
  }

  void check_path_matchers() {
    for (std::size_t i = 0; i < url_map_.path_matchers.size(); ++i) {
      const model::PathMatcher& matcher = url_map_.path_matchers[i];
      const FieldPath field(root_, "pathMatchers", i);
      // An empty name is the loader's "is required" error.
      auto [it, inserted] = matcher_by_name_.try_emplace(matcher.name, i);
      if (!matcher.name.empty() && !inserted) {
        validator_.error(from_, FieldPath(field, "name").str(),
                         "duplicate path matcher: pathMatchers[" + std::to_string(it->second) +
                             "] is already named \"" + matcher.name + "\"");
      }
      check_service(FieldPath(field, "defaultService"), matcher.default_service);
      check_route_action(FieldPath(field, "defaultRouteAction"), matcher.default_route_action);
      note_redirect(FieldPath(field, "defaultUrlRedirect"), matcher.default_url_redirect);
      check_rules(field, "pathRules", matcher.path_rules);
      check_rules(field, "routeRules", matcher.route_rules);
    }
  }

  /// The fields' paths are written out only for an error: a large map has thousands of rules.
  template <typename Rule>
  void check_rules(const FieldPath& matcher_field, std::string_view list,
                   const std::vector<Rule>& rules) {
    for (std::size_t j = 0; j < rules.size(); ++j) {
      const Rule& rule = rules[j];
      const FieldPath rule_field(matcher_field, list, j);
      check_service(FieldPath(rule_field, "service"), rule.service);
      check_route_action(FieldPath(rule_field, "routeAction"), rule.route_action);
      note_redirect(FieldPath(rule_field, "urlRedirect"), rule.url_redirect);
    }
  }

  void check_host_rules() {
    // Hosts compare case-insensitively, as the data plane matches them. Each is mapped to its
    // host rule and index there, written out as a field only for an error.
    std::map<std::string, std::pair<std::size_t, std::size_t>> first_by_host;
    for (std::size_t i = 0; i < url_map_.host_rules.size(); ++i) {
      const model::HostRule& rule = url_map_.host_rules[i];
      const FieldPath field(root_, "hostRules", i);
      if (!rule.path_matcher.empty() && !matcher_by_name_.contains(rule.path_matcher)) {
        validator_.error(from_, FieldPath(field, "pathMatcher").str(),
                         "unresolved reference: URL map \"" + url_map_.name +
                             "\" has no path matcher named \"" + rule.path_matcher + "\"");
      }
      for (std::size_t j = 0; j < rule.hosts.size(); ++j) {
        std::string host = rule.hosts[j];
        std::transform(host.begin(), host.end(), host.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        auto [it, inserted] = first_by_host.try_emplace(std::move(host), i, j);
        if (!inserted) {
          const auto [first_rule, first_host] = it->second;
          const FieldPath first_rule_field(root_, "hostRules", first_rule);
          validator_.error(from_, FieldPath(field, "hosts", j).str(),
                           "duplicate host: \"" + rule.hosts[j] + "\" already appears at " +
                               from_.path + FieldPath(first_rule_field, "hosts", first_host).str() +
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
  const FieldPath root_{""};  // field paths below it are relative: appended to from_.path
  std::vector<std::string> https_redirects_;
  std::unordered_map<std::string_view, std::size_t> matcher_by_name_;  // the first of each name
};

}  // namespace

void check_url_maps(Validator& validator) {
  for (const model::UrlMap& url_map : validator.config().url_maps) {
    UrlMapChecker(validator, url_map).run();
  }
}

}  // namespace albemu::config::validation
