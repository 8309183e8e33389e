#pragma once
// The immutable, compiled form of a config that workers serve from. Built on the main
// thread; shared with workers as shared_ptr<const ConfigSnapshot>; a request pins one.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/load/loader.h"
#include "config/model/resources.h"
#include "proxy/core/log_policy.h"
#include "proxy/core/serverless_resolver.h"
#include "proxy/core/url_map.h"

namespace albemu::core {
class RateLimiter;
}  // namespace albemu::core

namespace albemu::core {

/// One listener to bind: a forwarding rule and what its target proxy serves.
struct ListenerPlan {
  std::string forwarding_rule;
  std::string ip_address;  // from IPAddress; "0.0.0.0" if the rule leaves it empty
  uint16_t port = 0;       // from portRange
  bool https = false;
  std::string target_proxy;
  std::string url_map;
  std::chrono::seconds keepalive_timeout{610};             // httpKeepAliveTimeoutSec, unset = 610
  std::vector<const model::SslCertificate*> certificates;  // https only, in proxy order
  const model::SslPolicy* ssl_policy = nullptr;            // null: COMPATIBLE, TLS 1.0
  const model::ServerTlsPolicy* server_tls_policy = nullptr;  // null: no mutual TLS
  const model::TrustConfig* trust_config = nullptr;  // the policy's; null: none (ALLOW only)
  std::string network;                               // short name, for log labels
  /// The handshakes read the client's JA3/JA4 fingerprints: the URL map's header actions use
  /// {tls_ja3_fingerprint} or {tls_ja4_fingerprint}, or a Cloud Armor rate limit is keyed on
  /// TLS_JA3_FINGERPRINT or TLS_JA4_FINGERPRINT. Off, a handshake costs nothing more.
  bool tls_fingerprints = false;
};

/// A URL-map test that did not pass, in the shape of GCP's UrlMapsValidateResponse.
struct UrlMapTestFailure {
  std::string host;
  std::string path;
  std::vector<model::UrlMapTestHeader> headers;
  std::string expected_service;
  std::string actual_service;
  std::string expected_output_url;
  std::string actual_output_url;
  int expected_redirect_response_code = 0;
  int actual_redirect_response_code = 0;
  std::string message;  // why it failed, readable
};

struct UrlMapValidation {
  std::string url_map;
  std::string file;
  bool load_succeeded = false;
  config::ConfigErrors load_errors;
  bool test_passed = false;
  std::vector<UrlMapTestFailure> test_failures;
};

struct ConfigSnapshot {
  uint64_t generation = 0;
  model::Config config;
  std::map<std::string, std::shared_ptr<const CompiledUrlMap>, std::less<>> url_maps;
  std::shared_ptr<const ServerlessResolver> resolver;
  std::vector<ListenerPlan> listeners;
  /// Cloud Armor policies of the backend services; shared by all workers (thread-safe).
  std::shared_ptr<RateLimiter> rate_limiter;
  /// Each backend service's logConfig, by short name.
  std::map<std::string, LogPolicy, std::less<>> log_policies;

  const CompiledUrlMap* find_url_map(std::string_view name) const;
  const ListenerPlan* find_listener(std::string_view forwarding_rule) const;
  /// Null if no backend service has that name.
  const LogPolicy* find_log_policy(std::string_view backend_service) const;
};

struct SnapshotResult {
  std::shared_ptr<const ConfigSnapshot> snapshot;  // null if errors is not empty
  config::ConfigErrors errors;                     // load, compile and URL-map test errors
  std::vector<UrlMapValidation> validations;       // one per URL map, even on failure
};

/// Compiles a loaded config: URL maps, serverless resolver, listener plan, and runs every URL
/// map's tests (a failing test is an error, as GCP rejects such an update). The snapshot takes
/// `loaded`'s config: pass it by move where it is not needed after (a 1 MB URL map's model
/// takes milliseconds to copy).
SnapshotResult build_snapshot(config::LoadResult loaded, uint64_t generation);

/// Loads from files, or the embedded demo config when `paths` is empty (not built yet).
config::LoadResult load_config_sources(const std::vector<std::string>& paths);

/// Loads (load_config_sources) and builds.
SnapshotResult load_snapshot(const std::vector<std::string>& paths, uint64_t generation);

}  // namespace albemu::core
