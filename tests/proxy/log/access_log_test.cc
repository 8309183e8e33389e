#include "proxy/log/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace albemu::log {
namespace {

AccessLogEntry sample_entry() {
  AccessLogEntry entry;
  // 2026-01-02T03:04:05.000123Z
  entry.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1767323045)) +
                    std::chrono::microseconds(123);
  entry.project = "my-project";
  entry.region = "europe-west1";
  entry.network = "lb-network";
  entry.forwarding_rule = "l7-ilb-forwarding-rule";
  entry.target_proxy = "l7-ilb-proxy";
  entry.url_map = "l7-ilb-map";
  entry.matched_url_path_rule = "/login/*";
  entry.backend_service = "login-backend";
  entry.network_endpoint_group = "login-neg";
  entry.cloud_run_service = "login";
  entry.tag = "blue";
  entry.method = "GET";
  entry.request_url = "http://10.1.2.99/login/x?a=1";
  entry.request_size = 87;
  entry.status = 200;
  entry.response_size = 1234;
  entry.user_agent = "curl/8.5.0";
  entry.referer = "http://example.com/";
  entry.remote_ip = "10.1.2.3";
  entry.server_ip = "127.0.0.1:9001";
  entry.latency = std::chrono::microseconds(1115);
  entry.status_details = "response_sent_by_backend";
  return entry;
}

boost::json::object parse(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per entry";
  return boost::json::parse(line).as_object();
}

TEST(AccessLogFormat, HttpRequestFields) {
  const auto json = parse(format_access_log_entry(sample_entry()));
  const auto& http = json.at("httpRequest").as_object();
  EXPECT_EQ(http.at("requestMethod").as_string(), "GET");
  EXPECT_EQ(http.at("requestUrl").as_string(), "http://10.1.2.99/login/x?a=1");
  EXPECT_EQ(http.at("requestSize").as_string(), "87");
  EXPECT_EQ(http.at("status").as_int64(), 200);
  EXPECT_EQ(http.at("responseSize").as_string(), "1234");
  EXPECT_EQ(http.at("userAgent").as_string(), "curl/8.5.0");
  EXPECT_EQ(http.at("referer").as_string(), "http://example.com/");
  EXPECT_EQ(http.at("remoteIp").as_string(), "10.1.2.3");
  EXPECT_EQ(http.at("serverIp").as_string(), "127.0.0.1:9001");
  EXPECT_EQ(http.at("latency").as_string(), "0.001115s");
  EXPECT_EQ(http.at("protocol").as_string(), "HTTP/1.1");
}

TEST(AccessLogFormat, ResourceLabels) {
  const auto json = parse(format_access_log_entry(sample_entry()));
  const auto& resource = json.at("resource").as_object();
  EXPECT_EQ(resource.at("type").as_string(), "internal_http_lb_rule");
  const auto& labels = resource.at("labels").as_object();
  EXPECT_EQ(labels.at("project_id").as_string(), "my-project");
  EXPECT_EQ(labels.at("network_name").as_string(), "lb-network");
  EXPECT_EQ(labels.at("region").as_string(), "europe-west1");
  EXPECT_EQ(labels.at("url_map_name").as_string(), "l7-ilb-map");
  EXPECT_EQ(labels.at("forwarding_rule_name").as_string(), "l7-ilb-forwarding-rule");
  EXPECT_EQ(labels.at("target_proxy_name").as_string(), "l7-ilb-proxy");
  EXPECT_EQ(labels.at("matched_url_path_rule").as_string(), "/login/*");
  EXPECT_EQ(labels.at("backend_target_name").as_string(), "login-backend");
  EXPECT_EQ(labels.at("backend_target_type").as_string(), "BACKEND_SERVICE");
  EXPECT_EQ(labels.at("backend_name").as_string(), "login-neg");
  EXPECT_EQ(labels.at("backend_type").as_string(), "NETWORK_ENDPOINT_GROUP");
  EXPECT_EQ(labels.at("backend_scope").as_string(), "europe-west1");
  EXPECT_EQ(labels.at("backend_scope_type").as_string(), "REGION");
}

TEST(AccessLogFormat, UnknownBackendLabels) {
  AccessLogEntry entry = sample_entry();
  entry.backend_service.clear();
  entry.network_endpoint_group.clear();
  entry.matched_url_path_rule.clear();
  const auto json = parse(format_access_log_entry(entry));
  const auto& labels = json.at("resource").at("labels").as_object();
  EXPECT_EQ(labels.at("backend_target_type").as_string(), "UNKNOWN");
  EXPECT_EQ(labels.at("backend_type").as_string(), "UNKNOWN");
  EXPECT_EQ(labels.at("backend_scope_type").as_string(), "UNKNOWN");
  EXPECT_EQ(labels.at("matched_url_path_rule").as_string(), "UNMATCHED");
}

TEST(AccessLogFormat, PayloadTimestampAndLogName) {
  const auto json = parse(format_access_log_entry(sample_entry()));
  const auto& payload = json.at("jsonPayload").as_object();
  EXPECT_EQ(payload.at("@type").as_string(),
            "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry");
  EXPECT_EQ(payload.at("statusDetails").as_string(), "response_sent_by_backend");
  EXPECT_EQ(payload.at("backendTargetProjectNumber").as_string(), "projects/my-project");
  EXPECT_FALSE(payload.contains("proxyStatus")) << "absent on success";
  EXPECT_FALSE(payload.contains("enforcedSecurityPolicy"));
  EXPECT_EQ(payload.at("albemu").at("cloudRunService").as_string(), "login");
  EXPECT_EQ(payload.at("albemu").at("tag").as_string(), "blue");
  EXPECT_EQ(json.at("timestamp").as_string(), "2026-01-02T03:04:05.000123Z");
  EXPECT_EQ(json.at("logName").as_string(),
            "projects/my-project/logs/loadbalancing.googleapis.com%2Frequests");
  EXPECT_EQ(json.at("severity").as_string(), "INFO");
}

TEST(AccessLogFormat, LbGenerated5xxIsWarning) {
  AccessLogEntry entry = sample_entry();
  entry.status = 503;
  entry.proxy_status = R"(error="destination_unavailable"; details="failed_to_pick_backend")";
  entry.status_details = "failed_to_pick_backend";
  const auto json = parse(format_access_log_entry(entry));
  EXPECT_EQ(json.at("severity").as_string(), "WARNING");
  EXPECT_EQ(json.at("jsonPayload").at("proxyStatus").as_string(), entry.proxy_status);
  EXPECT_EQ(json.at("jsonPayload").at("statusDetails").as_string(), "failed_to_pick_backend");
}

TEST(AccessLogFormat, Backend5xxAndLb4xxAreInfo) {
  AccessLogEntry backend_error = sample_entry();
  backend_error.status = 500;  // sent by the backend: no proxyStatus
  EXPECT_EQ(parse(format_access_log_entry(backend_error)).at("severity").as_string(), "INFO");

  AccessLogEntry denied = sample_entry();
  denied.status = 429;
  denied.proxy_status = R"(error="http_request_denied"; details="denied_by_security_policy")";
  EXPECT_EQ(parse(format_access_log_entry(denied)).at("severity").as_string(), "INFO");
}

TEST(AccessLogFormat, EnforcedSecurityPolicy) {
  AccessLogEntry entry = sample_entry();
  entry.status = 429;
  entry.enforced_security_policy = EnforcedSecurityPolicy{
      "edge-policy", 1000, "throttle", "DENY", "10.1.2.3", "RATE_LIMIT_THRESHOLD_EXCEED"};
  const auto json = parse(format_access_log_entry(entry));
  const auto& policy = json.at("jsonPayload").at("enforcedSecurityPolicy").as_object();
  EXPECT_EQ(policy.at("name").as_string(), "edge-policy");
  EXPECT_EQ(policy.at("priority").as_int64(), 1000);
  EXPECT_EQ(policy.at("configuredAction").as_string(), "throttle");
  EXPECT_EQ(policy.at("outcome").as_string(), "DENY");
  EXPECT_EQ(policy.at("rateLimitAction").at("key").as_string(), "10.1.2.3");
  EXPECT_EQ(policy.at("rateLimitAction").at("outcome").as_string(), "RATE_LIMIT_THRESHOLD_EXCEED");
}

TEST(AccessLogFormat, LatencyAndEscaping) {
  AccessLogEntry entry = sample_entry();
  entry.latency = std::chrono::seconds(2);
  entry.user_agent = "quote\" backslash\\ newline\n";
  const std::string line = format_access_log_entry(entry);
  const auto json = parse(line);
  EXPECT_EQ(json.at("httpRequest").at("latency").as_string(), "2s");
  EXPECT_EQ(json.at("httpRequest").at("userAgent").as_string(), entry.user_agent);

  entry.latency = std::chrono::milliseconds(1500);
  EXPECT_EQ(parse(format_access_log_entry(entry)).at("httpRequest").at("latency").as_string(),
            "1.500s");
}

TEST(AccessLogFormat, ClientGoneLogsStatusZero) {
  AccessLogEntry entry = sample_entry();
  entry.status = 0;
  entry.status_details = "client_disconnected_before_any_response";
  const auto json = parse(format_access_log_entry(entry));
  EXPECT_EQ(json.at("httpRequest").at("status").as_int64(), 0);
  EXPECT_EQ(json.at("severity").as_string(), "INFO");
}

TEST(AccessLog, OpenFailureNamesPath) {
  std::string error;
  auto log = AccessLog::open("/nonexistent-dir/x/access.log", error);
  EXPECT_EQ(log, nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x/access.log"), std::string::npos) << error;
}

TEST(AccessLog, ConcurrentWritersProduceWholeLines) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("albemu_access_log_test_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  {
    std::string error;
    auto log = AccessLog::open(path.string(), error);
    ASSERT_NE(log, nullptr) << error;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        AccessLogEntry entry = sample_entry();
        for (int i = 0; i < kPerThread; ++i) {
          entry.request_url = "http://x/" + std::to_string(t) + "/" + std::to_string(i);
          log->write(entry);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  std::ifstream in(path);
  std::string line;
  std::set<std::string> urls;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto json = boost::json::parse(line).as_object();  // throws if a line is torn
    EXPECT_EQ(json.at("httpRequest").at("status").as_int64(), 200);
    urls.insert(std::string(json.at("httpRequest").at("requestUrl").as_string()));
    ++lines;
  }
  EXPECT_EQ(lines, kThreads * kPerThread);
  EXPECT_EQ(urls.size(), static_cast<std::size_t>(kThreads * kPerThread));  // each one once
  std::filesystem::remove(path);
}

TEST(AccessLog, StuckDestinationDropsLinesInsteadOfBlocking) {
  // A FIFO whose read end is open but not read: the writer thread blocks once the pipe
  // buffer is full, and then the queue fills.
  const auto fifo = std::filesystem::temp_directory_path() /
                    ("albemu_access_log_fifo_" + std::to_string(::getpid()));
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const int read_fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(read_fd, 0) << std::strerror(errno);

  const std::string payload(200, 'x');
  std::string error;
  auto log = AccessLog::open(fifo.string(), error, AccessLogLimits{1000, 1024 * 1024});
  ASSERT_NE(log, nullptr) << error;
  // Keep writing for half a second, far more than the pipe's 64 KiB: the writer thread takes
  // a batch and blocks on the pipe, the queue fills, and every write() still returns at once.
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Clock::duration slowest{};
  uint64_t lines = 0;
  while (Clock::now() - start < std::chrono::milliseconds(500)) {
    const auto before = Clock::now();
    log->write_line(payload);
    slowest = std::max(slowest, Clock::now() - before);
    ++lines;
  }
  EXPECT_LT(slowest, std::chrono::milliseconds(100));
  const uint64_t dropped = log->dropped();
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(lines - dropped, 1000u);  // the writer did take lines off the queue

  // Now drain the pipe: the destructor writes what was queued, and nothing else is lost.
  ASSERT_EQ(::fcntl(read_fd, F_SETFL, 0), 0);  // blocking reads from here on
  std::size_t bytes_read = 0;
  std::thread reader([&] {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(read_fd, buffer, sizeof buffer);
      if (n <= 0) break;  // EOF once the log closes its end
      bytes_read += static_cast<std::size_t>(n);
    }
  });
  log.reset();
  reader.join();
  ::close(read_fd);
  std::filesystem::remove(fifo);
  EXPECT_EQ(bytes_read, (lines - dropped) * (payload.size() + 1));
}

// A new field must be filled below and cleared by reset(); this fails the build until it is.
static_assert(sizeof(AccessLogEntry) == 1168, "AccessLogEntry changed: fill the new field below");

TEST(AccessLogEntry, ResetClearsEveryFieldAndKeepsStorage) {
  AccessLogEntry entry;
  entry.timestamp = std::chrono::system_clock::now();
  for (std::string* text : {&entry.project,
                            &entry.region,
                            &entry.network,
                            &entry.forwarding_rule,
                            &entry.target_proxy,
                            &entry.url_map,
                            &entry.matched_url_path_rule,
                            &entry.backend_service,
                            &entry.network_endpoint_group,
                            &entry.cloud_run_service,
                            &entry.tag,
                            &entry.method,
                            &entry.request_url,
                            &entry.user_agent,
                            &entry.referer,
                            &entry.remote_ip,
                            &entry.server_ip,
                            &entry.protocol,
                            &entry.proxy_status,
                            &entry.status_details}) {
    text->assign("a value long enough to leave the string's small buffer");
  }
  entry.request_size = 1;
  entry.status = 200;
  entry.response_size = 2;
  entry.latency = std::chrono::microseconds(3);
  entry.enforced_security_policy = EnforcedSecurityPolicy{"p", 1, "allow", "ACCEPT", "", ""};
  entry.preview_security_policy = EnforcedSecurityPolicy{"p", 0, "deny(403)", "DENY", "", ""};
  entry.tls = TlsLogInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "a.example"};
  entry.mtls = std::make_shared<net::ClientCertInfo>();
  entry.mtls_fields = 0;
  const auto* kept = entry.request_url.data();

  entry.reset();
  EXPECT_EQ(entry, AccessLogEntry{});
  EXPECT_EQ(entry.request_url.data(), kept) << "reset() must keep the string's storage";
}

TEST(AccessLogEntry, KeepOptionalFieldsClearsWhatTheLogConfigLeavesOut) {
  AccessLogEntry entry;
  entry.tls = TlsLogInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "a.example", false};
  auto cert = std::make_shared<net::ClientCertInfo>();
  cert->present = true;
  cert->error = "client_cert_validation_failed";
  entry.mtls = cert;
  AccessLogEntry all = entry;
  keep_optional_fields(all, model::kAllOptionalLogFields);
  EXPECT_EQ(all, entry);

  AccessLogEntry none = entry;
  keep_optional_fields(none, 0);
  EXPECT_FALSE(none.tls);
  EXPECT_FALSE(none.mtls);
  const auto json = boost::json::parse(format_access_log_entry(none));
  EXPECT_FALSE(json.at("jsonPayload").as_object().contains("tls"));
  EXPECT_FALSE(json.at("jsonPayload").as_object().contains("mtls"));

  AccessLogEntry some = entry;
  keep_optional_fields(some,
                       model::log_field_bit(model::OptionalLogField::kTlsProtocol) |
                           model::log_field_bit(model::OptionalLogField::kMtlsClientCertError));
  const auto payload = boost::json::parse(format_access_log_entry(some)).at("jsonPayload");
  EXPECT_EQ(payload.at("tls").at("protocol"), "TLSv1.3");
  EXPECT_FALSE(payload.at("tls").as_object().contains("cipherSuite"));
  EXPECT_FALSE(payload.at("tls").as_object().contains("earlyDataRequest"));
  EXPECT_EQ(payload.at("tls").at("sni"), "a.example");
  EXPECT_EQ(payload.at("mtls").at("clientCertError"), "client_cert_validation_failed");
  EXPECT_FALSE(payload.at("mtls").as_object().contains("clientCertPresent"));
}

TEST(AccessLogEntry, PreviewSecurityPolicyHasTheEnforcedShape) {
  AccessLogEntry entry;
  entry.preview_security_policy = EnforcedSecurityPolicy{
      "armor", 100, "throttle", "DENY", "10.0.0.9", "RATE_LIMIT_THRESHOLD_EXCEED"};
  const auto payload = boost::json::parse(format_access_log_entry(entry)).at("jsonPayload");
  const auto& preview = payload.at("previewSecurityPolicy");
  EXPECT_EQ(preview.at("name"), "armor");
  EXPECT_EQ(preview.at("priority"), 100);
  EXPECT_EQ(preview.at("configuredAction"), "throttle");
  EXPECT_EQ(preview.at("outcome"), "DENY");
  EXPECT_EQ(preview.at("rateLimitAction").at("outcome"), "RATE_LIMIT_THRESHOLD_EXCEED");
  EXPECT_FALSE(payload.as_object().contains("enforcedSecurityPolicy"));
}

TEST(AccessLogEntry, EarlyDataRequestIsLoggedWhenKept) {
  AccessLogEntry entry;
  entry.tls = TlsLogInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", false};
  const auto payload = boost::json::parse(format_access_log_entry(entry)).at("jsonPayload");
  EXPECT_EQ(payload.at("tls").at("earlyDataRequest"), false);
}

}  // namespace
}  // namespace albemu::log
