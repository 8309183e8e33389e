#pragma once
// Plain structs mirroring the compute v1 resources albemu loads (camelCase YAML field
// `fooBar` is member `foo_bar`). They hold what the user wrote, after reference parsing;
// no compiled state. Filled by config/load, checked by config/load's validator, compiled
// by proxy/core.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model/boxed.h"

namespace albemu::model {

/// A reference to another resource, in any of GCP's four forms: `name`,
/// `regions/R/<collection>/name`, `projects/P/regions/R/<collection>/name` or the full
/// `https://www.googleapis.com/compute/v1/...` URL. Empty project/region mean "as the
/// referring resource" (filled in by the loader from the config defaults).
struct ResourceRef {
  std::string text;        // as written, for messages
  std::string project;     // empty if not given
  std::string region;      // empty if not given (or a global resource)
  std::string collection;  // e.g. "backendServices"; empty for a short name
  std::string name;

  bool empty() const { return name.empty(); }
};

/// protobuf Duration as compute v1 writes it: {seconds, nanos}.
struct Duration {
  int64_t seconds = 0;
  int32_t nanos = 0;
};

/// Where a resource came from, so errors can name the file.
struct Origin {
  std::string file;  // path as given, or "<embedded demo>"
};

/// What every resource has, read once for all of them (read_resource_header).
struct Resource {
  Origin origin;
  std::string name;
  std::string description;
  std::string project;
  std::string region;  // empty for a global resource
};

// ---------------------------------------------------------------- URL map parts

struct HeaderToAdd {
  std::string header_name;
  std::string header_value;
  std::optional<bool> replace;  // unset: true unless header_value holds a {variable}
};

struct HttpHeaderAction {
  std::vector<HeaderToAdd> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderToAdd> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
};

struct Int64RangeMatch {
  int64_t range_start = 0;  // inclusive
  int64_t range_end = 0;    // exclusive
};

struct HttpHeaderMatch {
  std::string header_name;  // may be ":authority", ":method" or "PORT"
  std::optional<std::string> exact_match;
  std::optional<std::string> prefix_match;
  std::optional<std::string> suffix_match;
  std::optional<std::string> regex_match;
  std::optional<bool> present_match;
  std::optional<Int64RangeMatch> range_match;
  bool invert_match = false;
};

struct HttpQueryParameterMatch {
  std::string name;
  std::optional<std::string> exact_match;
  std::optional<std::string> regex_match;
  std::optional<bool> present_match;
};

struct HttpRouteRuleMatch {
  std::optional<std::string> prefix_match;
  std::optional<std::string> full_path_match;
  std::optional<std::string> regex_match;
  std::optional<std::string> path_template_match;
  bool ignore_case = false;
  std::vector<HttpHeaderMatch> header_matches;
  std::vector<HttpQueryParameterMatch> query_parameter_matches;
};

struct WeightedBackendService {
  ResourceRef backend_service;
  uint32_t weight = 0;  // 0-1000
  std::optional<HttpHeaderAction> header_action;
};

struct UrlRewrite {
  std::optional<std::string> host_rewrite;
  std::optional<std::string> path_prefix_rewrite;
  std::optional<std::string> path_template_rewrite;
};

struct RetryPolicy {
  std::vector<std::string> retry_conditions;
  std::optional<uint32_t> num_retries;  // unset means 1
  std::optional<Duration> per_try_timeout;
};

struct FaultDelay {
  Duration fixed_delay;
  double percentage = 0;  // 0.0-100.0
};

struct FaultAbort {
  uint32_t http_status = 0;  // 200-599
  double percentage = 0;
};

struct FaultInjectionPolicy {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
};

struct CorsPolicy {
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  std::optional<int32_t> max_age;
  bool allow_credentials = false;
  bool disabled = false;
};

struct RequestMirrorPolicy {
  ResourceRef backend_service;
  std::optional<double> mirror_percent;
};

struct HttpRouteAction {
  std::vector<WeightedBackendService> weighted_backend_services;
  std::optional<UrlRewrite> url_rewrite;
  std::optional<Duration> timeout;
  std::optional<RetryPolicy> retry_policy;
  std::optional<RequestMirrorPolicy> request_mirror_policy;
  std::optional<CorsPolicy> cors_policy;
  std::optional<FaultInjectionPolicy> fault_injection_policy;
};

enum class RedirectResponseCode {
  kMovedPermanentlyDefault,  // 301
  kFound,                    // 302
  kSeeOther,                 // 303
  kTemporaryRedirect,        // 307
  kPermanentRedirect,        // 308
};

struct HttpRedirectAction {
  std::optional<std::string> host_redirect;
  std::optional<std::string> path_redirect;
  std::optional<std::string> prefix_redirect;
  bool https_redirect = false;
  bool strip_query = false;
  RedirectResponseCode redirect_response_code = RedirectResponseCode::kMovedPermanentlyDefault;
};

struct PathRule {
  std::vector<std::string> paths;
  std::optional<ResourceRef> service;
  Boxed<HttpRouteAction> route_action;
  Boxed<HttpRedirectAction> url_redirect;
};

struct HttpRouteRule {
  std::string description;
  int64_t priority = 0;  // 0-2147483647, unique within a path matcher
  std::vector<HttpRouteRuleMatch> match_rules;
  std::optional<ResourceRef> service;
  Boxed<HttpRouteAction> route_action;
  Boxed<HttpRedirectAction> url_redirect;
  std::optional<HttpHeaderAction> header_action;
};

struct PathMatcher {
  std::string name;
  std::string description;
  std::optional<ResourceRef> default_service;
  Boxed<HttpRouteAction> default_route_action;
  Boxed<HttpRedirectAction> default_url_redirect;
  std::optional<HttpHeaderAction> header_action;
  std::vector<PathRule> path_rules;
  std::vector<HttpRouteRule> route_rules;
};

struct HostRule {
  std::string description;
  std::vector<std::string> hosts;
  std::string path_matcher;
};

struct UrlMapTestHeader {
  std::string name;
  std::string value;
};

struct UrlMapTest {
  std::string description;
  std::string host;
  std::string path;
  std::vector<UrlMapTestHeader> headers;
  std::optional<ResourceRef> service;
  std::optional<std::string> expected_output_url;
  std::optional<int> expected_redirect_response_code;
};

struct UrlMap : Resource {
  std::optional<ResourceRef> default_service;
  Boxed<HttpRouteAction> default_route_action;
  Boxed<HttpRedirectAction> default_url_redirect;
  std::optional<HttpHeaderAction> header_action;
  std::vector<HostRule> host_rules;
  std::vector<PathMatcher> path_matchers;
  std::vector<UrlMapTest> tests;
};

// ---------------------------------------------------------------- networking

struct Network : Resource {
  bool auto_create_subnetworks = false;
};

struct Subnetwork : Resource {
  ResourceRef network;
  std::string ip_cidr_range;
  std::string purpose;  // PRIVATE (default) | REGIONAL_MANAGED_PROXY | ...
  std::string role;     // ACTIVE | BACKUP, only for proxy subnets
};

// ---------------------------------------------------------------- backends

/// albemu's own resource: what stands in for a Cloud Run service. No URL means the
/// built-in stand-in serves it.
struct CloudRunService : Resource {
  std::string ingress = "all";    // all | internal | internal-and-cloud-load-balancing
  std::vector<std::string> urls;  // default (untagged) endpoints
  std::map<std::string, std::vector<std::string>> tags;  // tag -> endpoints (may be empty)
  /// albemu's extension, the counterpart of `gcloud run deploy --use-http2` (a container port
  /// named h2c): the load balancer speaks HTTP/2 in cleartext with prior knowledge to it.
  bool use_http2 = false;
  /// albemu's extension: a PEM file of CA certificates trusted, besides the system's, for the
  /// service's https:// URLs. As written, a relative path resolved against the config file's
  /// directory; empty: the system trust store only.
  std::string ca_certificate_file;
  std::string ca_certificate;  // the file's PEM text, read at load
};

struct CloudRunTarget {
  std::optional<std::string> service;
  std::optional<std::string> tag;
  std::optional<std::string> url_mask;
};

struct NetworkEndpointGroup : Resource {
  std::string network_endpoint_type;  // SERVERLESS
  std::optional<CloudRunTarget> cloud_run;
};

struct Backend {
  ResourceRef group;
  std::string balancing_mode;
  std::optional<double> capacity_scaler;
  std::string description;
};

/// logConfig: whether and how requests to the service are logged. GCP's defaults: off,
/// sampleRate 1.0, EXCLUDE_ALL_OPTIONAL.
struct BackendLogConfig {
  bool enable = false;
  std::optional<double> sample_rate;
  std::string optional_mode = "EXCLUDE_ALL_OPTIONAL";  // | INCLUDE_ALL_OPTIONAL | CUSTOM
  std::vector<std::string> optional_fields;            // CUSTOM only; names in log_fields.h
};

struct BackendService : Resource {
  std::string load_balancing_scheme;  // INTERNAL_MANAGED
  std::string protocol;               // HTTP (default) | HTTPS | HTTP2 | H2C
  std::vector<Backend> backends;
  std::optional<ResourceRef> security_policy;
  std::optional<BackendLogConfig> log_config;
};

struct RateLimitThreshold {
  int64_t count = 0;
  int64_t interval_sec = 0;
};

struct RateLimitOptions {
  RateLimitThreshold rate_limit_threshold;
  std::string conform_action = "allow";
  std::string exceed_action;  // deny(403|404|429|502)
  std::string enforce_on_key = "ALL";
  std::string enforce_on_key_name;  // header or cookie name for HTTP_HEADER / HTTP_COOKIE
};

struct SecurityPolicyRuleMatch {
  std::string versioned_expr;              // SRC_IPS_V1
  std::vector<std::string> src_ip_ranges;  // config.srcIpRanges; "*" matches all
};

struct SecurityPolicyRule {
  std::string description;
  int64_t priority = 0;
  std::string action;  // allow | deny(N) | throttle
  bool preview = false;
  std::optional<SecurityPolicyRuleMatch> match;
  std::optional<RateLimitOptions> rate_limit_options;
};

struct SecurityPolicy : Resource {
  std::string type;  // CLOUD_ARMOR
  std::vector<SecurityPolicyRule> rules;
  // advancedOptionsConfig
  std::vector<std::string> user_ip_request_headers;  // tried in order for the user IP
  std::string log_level = "NORMAL";                  // NORMAL | VERBOSE
};

// ---------------------------------------------------------------- frontends

struct SslCertificate : Resource {
  std::string certificate;       // PEM (from `certificate` or read from `certificateFile`)
  std::string private_key;       // PEM (from `privateKey` or read from `privateKeyFile`)
  std::string certificate_file;  // as written, relative paths resolved against origin
  std::string private_key_file;
};

struct SslPolicy : Resource {
  std::string profile = "COMPATIBLE";  // COMPATIBLE | MODERN | RESTRICTED | FIPS_202205 | CUSTOM
  std::string min_tls_version = "TLS_1_0";
  std::vector<std::string> custom_features;
};

struct TargetHttpProxy : Resource {
  ResourceRef url_map;
  std::optional<int64_t> http_keep_alive_timeout_sec;  // 5-600; unset = 610
};

struct TargetHttpsProxy : Resource {
  ResourceRef url_map;
  std::optional<int64_t> http_keep_alive_timeout_sec;
  std::vector<ResourceRef> ssl_certificates;  // 1-15
  std::optional<ResourceRef> ssl_policy;
  /// networksecurity ServerTlsPolicy: mutual TLS with the proxy's clients.
  std::optional<ResourceRef> server_tls_policy;
};

// ---------------------------------------------------------------- mutual TLS
// networksecurity v1 ServerTlsPolicy and certificatemanager v1 TrustConfig, in the shapes
// `gcloud ... export` writes. Their `name` may be the full `projects/P/locations/L/...` name;
// the location is the resource's region.

/// One PEM certificate: `pemCertificate`, or albemu's `pemCertificateFile` (relative to the
/// config file).
struct PemCertificate {
  std::string pem;
  std::string file;  // as resolved, when read from a file
};

struct TrustStore {
  std::vector<PemCertificate> trust_anchors;
  std::vector<PemCertificate> intermediate_cas;
};

struct TrustConfig : Resource {
  std::vector<TrustStore> trust_stores;  // GCP allows one
  std::vector<PemCertificate> allowlisted_certificates;
};

struct ServerTlsPolicy : Resource {
  /// ALLOW_INVALID_OR_MISSING_CLIENT_CERT | REJECT_INVALID
  std::string client_validation_mode;
  std::optional<ResourceRef> client_validation_trust_config;  // collection "trustConfigs"
};

struct ForwardingRule : Resource {
  std::string ip_address;  // `IPAddress`
  std::string ip_protocol = "TCP";
  std::string port_range;             // a single port, e.g. "80" or "443-443"
  std::string load_balancing_scheme;  // INTERNAL_MANAGED
  ResourceRef target;                 // targetHttpProxies/X or targetHttpsProxies/X
  std::optional<ResourceRef> network;
  std::optional<ResourceRef> subnetwork;
  bool allow_global_access = false;
  std::string network_tier = "PREMIUM";
};

// ---------------------------------------------------------------- the whole config

/// Everything loaded from one or more files. Vectors keep file order.
struct Config {
  std::string project = "albemu-project";  // default for resources that omit it
  std::string region = "us-central1";      // default for resources that omit it
  std::vector<Network> networks;
  std::vector<Subnetwork> subnetworks;
  std::vector<CloudRunService> cloud_run_services;
  std::vector<NetworkEndpointGroup> network_endpoint_groups;
  std::vector<BackendService> backend_services;
  std::vector<SecurityPolicy> security_policies;
  std::vector<UrlMap> url_maps;
  std::vector<SslCertificate> ssl_certificates;
  std::vector<SslPolicy> ssl_policies;
  std::vector<TrustConfig> trust_configs;
  std::vector<ServerTlsPolicy> server_tls_policies;
  std::vector<TargetHttpProxy> target_http_proxies;
  std::vector<TargetHttpsProxy> target_https_proxies;
  std::vector<ForwardingRule> forwarding_rules;
};

}  // namespace albemu::model
