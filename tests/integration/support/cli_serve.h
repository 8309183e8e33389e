#pragma once
// `albemu serve` as a background process for integration tests, and a small config to serve.

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/support/cli_process.h"

namespace albemu::cli_testing {

/// The "service" field of a stand-in's JSON echo (which Cloud Run service answered); the body
/// itself, marked with '?', if it is not such an echo.
inline std::string service_of(const std::string& body) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object() || !parsed.as_object().contains("service")) return "?" + body;
  return std::string(parsed.at("service").as_string());
}

/// A serve process and the addresses its ready file reports.
class ServeProcess {
 public:
  /// `ready_file`: where serve writes it; empty: a file in a fresh temp directory. `env` is
  /// added to the process's environment.
  explicit ServeProcess(const std::vector<std::string>& config_args, std::string ready_file = {},
                        const std::map<std::string, std::string>& env = {}) {
    if (!ready_file.empty()) ready_file_ = std::move(ready_file);
    std::vector<std::string> argv{albemu_binary(), "serve", "--ephemeral-ports",
                                  "--workers",     "2",     "--ready-file",
                                  ready_file_};
    // The admin endpoint on a free loopback port unless the test names one.
    if (std::find(config_args.begin(), config_args.end(), "--admin") == config_args.end())
      argv.insert(argv.end(), {"--admin", "127.0.0.1:0"});
    argv.insert(argv.end(), config_args.begin(), config_args.end());
    process_ = std::make_unique<BackgroundProcess>(argv, env);
  }

  /// Waits for the ready file; false if the process exits or the deadline passes first.
  bool wait_ready() {
    const bool ready = poll_until([&] {
      if (!std::filesystem::exists(ready_file_)) return false;
      ready_ = boost::json::parse(read_file(ready_file_)).as_object();
      return true;
    });
    return ready;
  }

  std::string listener(const std::string& rule) const {
    return std::string(ready_.at("forwardingRules").at(rule).as_string());
  }
  /// The rule's bound port (rules without IPAddress bind 0.0.0.0; reach them on loopback).
  std::string port(const std::string& rule) const {
    const std::string address = listener(rule);
    return address.substr(address.rfind(':') + 1);
  }
  std::string admin() const { return std::string(ready_.at("admin").as_string()); }
  /// The compute API's "ip:port" (serve's --api), from the ready file.
  std::string api() const { return std::string(ready_.at("api").as_string()); }

  boost::json::object config() const {
    const auto result = http_request(admin(), "GET", "/config");
    return boost::json::parse(result.body).as_object();
  }
  int64_t generation() const { return config().at("generation").to_number<int64_t>(); }

  BackgroundProcess& process() { return *process_; }

 private:
  TempDir dir_;
  std::string ready_file_ = dir_.file("ready.json");
  std::unique_ptr<BackgroundProcess> process_;
  boost::json::object ready_;
};

/// A config with one HTTP rule on 127.0.0.1:8080 and a `/<service>` URL mask over
/// `services` (built-in stand-ins). `comment` makes otherwise equal edits differ.
inline std::string reload_config(const std::vector<std::string>& services,
                                 const std::string& comment = "") {
  std::string yaml = "# " + comment + "\nproject: p\nregion: us-central1\ncloudRunServices:\n";
  for (const auto& service : services) yaml += "  - name: " + service + "\n";
  yaml += R"yaml(networkEndpointGroups:
  - name: neg
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
backendServices:
  - name: bs
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: neg}]
urlMaps:
  - name: map
    defaultService: bs
targetHttpProxies:
  - name: proxy
    urlMap: map
forwardingRules:
  - name: rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "8080"
    target: proxy
)yaml";
  return yaml;
}

}  // namespace albemu::cli_testing
