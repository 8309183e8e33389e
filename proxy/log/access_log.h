#pragma once
// One Cloud Logging LogEntry JSON line per request, written at the request's end.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/model/log_fields.h"
#include "proxy/net/client_cert.h"

namespace albemu::log {

/// The Cloud Armor rule that decided a request (`jsonPayload.enforcedSecurityPolicy`), or
/// the preview rule that would have (`jsonPayload.previewSecurityPolicy`).
struct EnforcedSecurityPolicy {
  std::string name;
  int64_t priority = 0;
  std::string configured_action;   // "allow", "deny(429)", "throttle"
  std::string outcome;             // "ACCEPT" | "DENY"
  std::string rate_limit_key;      // empty: no rateLimitAction in the log
  std::string rate_limit_outcome;  // "RATE_LIMIT_THRESHOLD_CONFORM" | "RATE_LIMIT_THRESHOLD_EXCEED"
  bool operator==(const EnforcedSecurityPolicy&) const = default;
};

/// TLS facts of the client connection, logged under `jsonPayload.tls` when set. protocol,
/// cipher_suite and early_data_request are GCP's optional fields tls.protocol, tls.cipher
/// and tls.earlyDataRequest (keep_optional_fields clears those a logConfig leaves out); sni
/// is albemu's own and goes with any of them.
struct TlsLogInfo {
  std::string protocol;                    // "TLSv1.3"
  std::string cipher_suite;                // "TLS_AES_128_GCM_SHA256"
  std::string sni;                         // may be empty
  std::optional<bool> early_data_request;  // unset: not logged
  bool operator==(const TlsLogInfo&) const = default;
};

/// Everything one access-log line says about a request. Strings empty mean "not known".
struct AccessLogEntry {
  std::chrono::system_clock::time_point timestamp;  // when the request started

  // resource.labels
  std::string project;
  std::string region;
  std::string network;
  std::string forwarding_rule;
  std::string target_proxy;
  std::string url_map;
  std::string matched_url_path_rule = "UNMATCHED";
  std::string backend_service;         // backend_target_name; empty: UNKNOWN type
  std::string network_endpoint_group;  // backend_name; empty: UNKNOWN type

  // albemu extras (jsonPayload.albemu)
  std::string cloud_run_service;
  std::string tag;

  // httpRequest
  std::string method;
  std::string request_url;  // absolute: scheme://host/path?query
  uint64_t request_size = 0;
  int status = 0;  // 0: no response was sent
  uint64_t response_size = 0;
  std::string user_agent;
  std::string referer;
  std::string remote_ip;  // client IP (no port)
  std::string server_ip;  // backend address, may be "host:port"
  std::chrono::microseconds latency{0};
  std::string protocol = "HTTP/1.1";

  // jsonPayload
  std::string proxy_status;    // RFC 9209 text; empty on success
  std::string status_details;  // "response_sent_by_backend", "failed_to_pick_backend", ...
  std::optional<EnforcedSecurityPolicy> enforced_security_policy;
  /// The preview rule that would have decided (`previewSecurityPolicy`); same shape, and
  /// `outcome` is what enforcing it would have given.
  std::optional<EnforcedSecurityPolicy> preview_security_policy;
  std::optional<TlsLogInfo> tls;
  /// The client's certificate on a frontend with mutual TLS (`jsonPayload.mtls`, GCP's
  /// optional fields mtls.*), shared with the connection rather than copied per request;
  /// `mtls_fields` says which of them the line keeps (keep_optional_fields).
  std::shared_ptr<const net::ClientCertInfo> mtls;
  model::OptionalLogFields mtls_fields = model::kAllOptionalLogFields;

  /// Back to a default-constructed entry, keeping the strings' storage (a keep-alive
  /// connection reuses one entry request after request).
  void reset();
  bool operator==(const AccessLogEntry&) const = default;
};

/// Clears the optional fields of `entry` that `keep` leaves out (and drops `tls`/`mtls` when
/// nothing of them is left), so that format_access_log_entry does not write them.
void keep_optional_fields(AccessLogEntry& entry, model::OptionalLogFields keep);

/// Formats `entry` as one LogEntry JSON object, without a trailing newline. Pure; any thread.
/// Severity is WARNING for LB-generated 5xx (proxy_status set and status >= 500), else INFO.
std::string format_access_log_entry(const AccessLogEntry& entry);

/// How much an AccessLog buffers before it drops lines instead of blocking.
struct AccessLogLimits {
  std::size_t max_queued_lines = 64 * 1024;
  std::size_t max_queued_bytes = 64 * 1024 * 1024;
};

/// An append-only sink of access-log lines (a file, or stdout for "-"). Thread-safe.
/// Lines go through a bounded in-memory queue drained by one writer thread, so a slow or
/// stuck destination (a pipe nobody reads) never blocks the request path: when the queue is
/// full the line is dropped and counted.
class AccessLog {
 public:
  /// Opens `path_or_dash` for appending ("-" is stdout). On failure returns null and sets
  /// `error` to a readable message naming the path.
  static std::unique_ptr<AccessLog> open(const std::string& path_or_dash, std::string& error);
  static std::unique_ptr<AccessLog> open(const std::string& path_or_dash, std::string& error,
                                         AccessLogLimits limits);

  /// Writes every queued line, then closes the file (stdout is only flushed). Blocks until
  /// the destination has taken them all.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  /// Any worker thread. Formats on the calling thread and queues the line; never waits for
  /// the destination. Lines from different workers never interleave.
  void write(const AccessLogEntry& entry);

  /// Queues an already formatted line (a newline is added). Same rules as write().
  void write_line(std::string line);

  /// Lines dropped so far because the queue was full.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AccessLog(std::FILE* file, bool owned, AccessLogLimits limits);
  void run_writer();
  void warn_about_drops(bool force);

  const AccessLogLimits limits_;
  std::FILE* file_;
  bool owned_;

  std::mutex mutex_;
  std::condition_variable has_work_;
  std::vector<std::string> queue_;  // guarded by mutex_
  std::size_t queued_bytes_ = 0;    // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_
  std::atomic<uint64_t> dropped_{0};

  // Writer thread only.
  uint64_t reported_drops_ = 0;
  std::chrono::steady_clock::time_point last_warning_{};

  std::thread writer_;  // last: starts after every other member is ready
};

}  // namespace albemu::log
