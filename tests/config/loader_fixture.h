#pragma once
// Helpers for the loader tests: a complete, valid config (the load balancer of GCP's guide
// "Set up a regional internal Application Load Balancer with Cloud Run") that tests extend or
// break in one place, and matchers over the errors a load returns.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "config/config_error.h"
#include "config/load/loader.h"

namespace albemu::config::testing {

/// Everything but the URL map: network, subnets, Cloud Run stand-ins, NEGs, backend
/// services, an HTTP proxy and forwarding rule pointing at URL map `lb-map`.
inline constexpr char kBaseConfig[] = R"yaml(
project: my-project
region: europe-west1
networks:
- name: lb-network
  autoCreateSubnetworks: false
subnetworks:
- name: lb-subnet
  network: lb-network
  ipCidrRange: 10.1.2.0/24
- name: proxy-only-subnet
  network: projects/my-project/global/networks/lb-network
  ipCidrRange: 10.129.0.0/23
  purpose: REGIONAL_MANAGED_PROXY
  role: ACTIVE
cloudRunServices:
- name: login
  url: http://login:8080
- name: web
networkEndpointGroups:
- name: login-neg
  networkEndpointType: SERVERLESS
  cloudRun:
    service: login
- name: web-neg
  networkEndpointType: SERVERLESS
  cloudRun:
    service: web
backendServices:
- name: login-backend
  loadBalancingScheme: INTERNAL_MANAGED
  protocol: HTTP
  backends:
  - group: login-neg
- name: web-backend
  loadBalancingScheme: INTERNAL_MANAGED
  protocol: HTTP
  backends:
  - group: web-neg
targetHttpProxies:
- name: http-proxy
  urlMap: lb-map
forwardingRules:
- name: http-rule
  IPAddress: 10.1.2.99
  IPProtocol: TCP
  portRange: "80"
  loadBalancingScheme: INTERNAL_MANAGED
  target: http-proxy
  network: lb-network
  subnetwork: lb-subnet
)yaml";

/// The smallest URL map that completes kBaseConfig.
inline constexpr char kMinimalUrlMap[] = R"yaml(
urlMaps:
- name: lb-map
  defaultService: web-backend
)yaml";

inline constexpr char kConfigFile[] = "/etc/albemu/config.yaml";

/// Loads kBaseConfig plus `extra` (a second YAML document in the same file).
inline LoadResult load_with(std::string_view extra) {
  std::string text = kBaseConfig;
  text += "\n---\n";
  text += extra;
  return load_config_text(text, kConfigFile);
}

/// Whether `errors` holds one at `field_path` (in `file`) whose message contains `text`.
inline ::testing::AssertionResult has_error(const ConfigErrors& errors, std::string_view file,
                                            std::string_view field_path, std::string_view text) {
  for (const ConfigError& error : errors) {
    if (error.file == file && error.field_path == field_path &&
        error.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << file << ": " << field_path
                                       << " containing '" << text << "'; errors were:\n"
                                       << format_errors(errors);
}

inline ::testing::AssertionResult has_error(const LoadResult& result, std::string_view field_path,
                                            std::string_view text) {
  return has_error(result.errors, kConfigFile, field_path, text);
}

/// Whether no error names `field_path` (or a path below it).
inline ::testing::AssertionResult no_error_at(const LoadResult& result,
                                              std::string_view field_path) {
  for (const ConfigError& error : result.errors) {
    if (error.field_path.substr(0, field_path.size()) == field_path) {
      return ::testing::AssertionFailure() << "unexpected error: " << error.to_string();
    }
  }
  return ::testing::AssertionSuccess();
}

/// A fresh directory under the gtest temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("albemu-loader-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `text` to `relative` (creating folders) and returns the full path.
  std::string write(const std::string& relative, std::string_view text) const {
    std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace albemu::config::testing
