#pragma once
// Backend service -> serverless NEG -> Cloud Run service [+ tag] -> endpoints.
// Built once per snapshot; resolve() is pure and thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model/resources.h"
#include "proxy/core/url_mask.h"

namespace albemu::core {

/// The Cloud Run service (and revision tag) a request goes to.
struct ServerlessTarget {
  std::string_view network_endpoint_group;
  std::string_view cloud_run_service;
  std::string_view tag;  // empty: untagged (the service's default URL)
  /// The stand-in's URLs (e.g. "http://login:8080"); empty means the built-in stand-in.
  const std::vector<std::string>* endpoints = nullptr;
  /// The service speaks HTTP/2 in cleartext (h2c, prior knowledge): its `useHttp2`.
  bool use_http2 = false;
  /// The load balancer reaches Cloud Run over HTTP/2: the backend service's `protocol` is HTTP2
  /// or H2C. HTTP and HTTPS carry HTTP/1.1, which has no room for response trailers (gRPC's
  /// status), whatever the container speaks.
  bool hop_http2 = false;
  /// The resolved path of the service's `caCertificateFile` (empty: the system trust store
  /// only), which names the TLS client context its https:// endpoints are verified with.
  std::string_view ca_certificate_file;
  bool operator==(const ServerlessTarget&) const = default;
};

class ServerlessResolverImpl;

/// Resolves backend services of one config.
class ServerlessResolver {
 public:
  /// Builds from a validated config. Appends errors (bad masks) and returns null on failure.
  static std::shared_ptr<const ServerlessResolver> create(const model::Config& config,
                                                          config::ConfigErrors& errors);
  ~ServerlessResolver();

  /// nullopt means failed_to_pick_backend: the mask did not match, or it named a service or
  /// tag that no cloudRunServices entry declares. `host` and `path` are the client's
  /// original ones (before any urlRewrite).
  std::optional<ServerlessTarget> resolve(std::string_view backend_service, std::string_view host,
                                          std::string_view path) const;

 private:
  ServerlessResolver();
  std::unique_ptr<ServerlessResolverImpl> impl_;
};

}  // namespace albemu::core
