#pragma once
// Runs the real data plane in-process on ephemeral ports, with an access log in a temp file,
// and talks to it with real clients (curl, raw sockets).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/log/access_log.h"
#include "proxy/log/metrics.h"
#include "proxy/net/data_plane.h"
#include "tests/integration/support/cli_process.h"

namespace albemu::testing {

/// What a curl run produced.
struct CurlResult {
  int exit_code = -1;
  int status = 0;       // curl's %{http_code}; 0 if no response
  std::string headers;  // every response head curl saw, as received
  std::string body;
};

/// Runs `curl -sS` with `args` (each passed as one argument) and collects the result.
CurlResult run_curl(const std::vector<std::string>& args);

/// Runs a shell command; returns its stdout (stderr to /dev/null unless redirected in `command`).
std::string run_command(const std::string& command, int* exit_code = nullptr);

/// Connects to 127.0.0.1:port, writes `bytes`, reads until the peer closes or `deadline`
/// passes. `closed` tells which of the two ended the read.
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds deadline, bool* closed = nullptr);

using cli_testing::poll_until;

/// The status of the first response in raw `bytes` ("HTTP/1.x NNN ..."), 0 if none.
int status_of(const std::string& bytes);

/// `text` with `prefix` before each of its lines (for YAML blocks spliced into a config).
std::string indent(const std::string& text, const std::string& prefix);

class ProxyHarness {
 public:
  explicit ProxyHarness(unsigned workers = 2,
                        std::chrono::milliseconds header_timeout = std::chrono::seconds(60));
  ProxyHarness(unsigned workers, net::ClientTimeouts timeouts,
               std::optional<uint64_t> log_sample_seed = std::nullopt);
  ~ProxyHarness();

  /// Loads `yaml`, builds a snapshot and applies it. Returns "" on success, else the errors.
  std::string apply_yaml(const std::string& yaml);

  uint16_t port(const std::string& forwarding_rule) const;
  std::string url(const std::string& forwarding_rule, const std::string& path) const;

  /// Access-log lines written so far.
  std::vector<std::string> log_lines() const;
  /// Waits until at least `count` log lines exist; returns them.
  std::vector<std::string> wait_for_log_lines(std::size_t count) const;

  net::DataPlane& data_plane() { return *data_plane_; }
  log::Metrics& metrics() { return *metrics_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string log_path_;
  std::unique_ptr<log::Metrics> metrics_;
  std::unique_ptr<log::AccessLog> access_log_;
  std::unique_ptr<net::DataPlane> data_plane_;
  uint64_t generation_ = 0;
};

/// A config with one HTTP forwarding rule `http-rule` in front of `url_map_yaml` (an entry of
/// `urlMaps`, indented as a list item) and the given extra top-level YAML.
std::string basic_config(const std::string& body_yaml);

/// The resources behind `basic_config`'s proxy: Cloud Run service `app` at `url` (empty: the
/// built-in stand-in), its NEG `app-neg`, backend service `app-bs` (logging every request)
/// and URL map `test-map` defaulting to it.
std::string single_service_yaml(const std::string& url);

}  // namespace albemu::testing
