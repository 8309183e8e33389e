#include "proxy/log/access_log.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace albemu::log {
namespace {

constexpr std::string_view kLogEntryType =
    "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry";

/// RFC 3339 UTC with microseconds, as Cloud Logging writes timestamps.
std::string format_timestamp(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(micros / 1'000'000);
  auto fraction = micros % 1'000'000;
  if (fraction < 0) {  // before 1970: keep the fraction positive
    fraction += 1'000'000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  const auto n = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                               tm.tm_sec, static_cast<int>(fraction));
  return std::string(buffer, static_cast<std::size_t>(n));
}

/// protobuf Duration JSON: seconds with 0, 3 or 6 fractional digits and an "s" suffix.
std::string format_latency(std::chrono::microseconds latency) {
  const auto micros = latency.count() < 0 ? 0 : latency.count();
  const auto seconds = micros / 1'000'000;
  const auto fraction = micros % 1'000'000;
  char buffer[40];
  int n = 0;
  if (fraction == 0) {
    n = std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(seconds));
  } else if (fraction % 1000 == 0) {
    n = std::snprintf(buffer, sizeof buffer, "%lld.%03llds", static_cast<long long>(seconds),
                      static_cast<long long>(fraction / 1000));
  } else {
    n = std::snprintf(buffer, sizeof buffer, "%lld.%06llds", static_cast<long long>(seconds),
                      static_cast<long long>(fraction));
  }
  return std::string(buffer, static_cast<std::size_t>(n));
}

void put_if_set(boost::json::object& object, std::string_view key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

boost::json::object make_http_request(const AccessLogEntry& entry) {
  boost::json::object http;
  http["requestMethod"] = entry.method;
  http["requestUrl"] = entry.request_url;
  // int64 fields are strings in protobuf JSON.
  http["requestSize"] = std::to_string(entry.request_size);
  http["status"] = entry.status;
  http["responseSize"] = std::to_string(entry.response_size);
  put_if_set(http, "userAgent", entry.user_agent);
  put_if_set(http, "remoteIp", entry.remote_ip);
  put_if_set(http, "serverIp", entry.server_ip);
  put_if_set(http, "referer", entry.referer);
  http["latency"] = format_latency(entry.latency);
  http["protocol"] = entry.protocol;
  return http;
}

boost::json::object make_resource(const AccessLogEntry& entry) {
  const bool has_backend_service = !entry.backend_service.empty();
  const bool has_neg = !entry.network_endpoint_group.empty();
  boost::json::object labels;
  labels["project_id"] = entry.project;
  labels["network_name"] = entry.network;
  labels["region"] = entry.region;
  labels["url_map_name"] = entry.url_map;
  labels["forwarding_rule_name"] = entry.forwarding_rule;
  labels["target_proxy_name"] = entry.target_proxy;
  labels["matched_url_path_rule"] =
      entry.matched_url_path_rule.empty() ? std::string("UNMATCHED") : entry.matched_url_path_rule;
  labels["backend_target_name"] = entry.backend_service;
  labels["backend_target_type"] = has_backend_service ? "BACKEND_SERVICE" : "UNKNOWN";
  labels["backend_name"] = entry.network_endpoint_group;
  labels["backend_type"] = has_neg ? "NETWORK_ENDPOINT_GROUP" : "UNKNOWN";
  labels["backend_scope"] = has_neg ? entry.region : std::string();
  labels["backend_scope_type"] = has_neg ? "REGION" : "UNKNOWN";

  boost::json::object resource;
  resource["type"] = "internal_http_lb_rule";
  resource["labels"] = std::move(labels);
  return resource;
}

boost::json::object make_security_policy(const EnforcedSecurityPolicy& policy) {
  boost::json::object out;
  out["name"] = policy.name;
  out["priority"] = policy.priority;
  out["configuredAction"] = policy.configured_action;
  out["outcome"] = policy.outcome;
  if (!policy.rate_limit_key.empty() || !policy.rate_limit_outcome.empty()) {
    boost::json::object rate_limit;
    rate_limit["key"] = policy.rate_limit_key;
    rate_limit["outcome"] = policy.rate_limit_outcome;
    out["rateLimitAction"] = std::move(rate_limit);
  }
  return out;
}

/// GCP's mtls.* fields that `keep` holds; as in all its log fields, a boolean only when true.
boost::json::object make_mtls(const net::ClientCertInfo& cert, model::OptionalLogFields keep) {
  using model::OptionalLogField;
  const auto kept = [keep](OptionalLogField field) {
    return (keep & model::log_field_bit(field)) != 0;
  };
  boost::json::object out;
  if (cert.present && kept(OptionalLogField::kMtlsClientCertPresent))
    out["clientCertPresent"] = true;
  if (cert.chain_verified && kept(OptionalLogField::kMtlsClientCertChainVerified))
    out["clientCertChainVerified"] = true;
  const std::tuple<OptionalLogField, const char*, const std::string*> texts[] = {
      {OptionalLogField::kMtlsClientCertError, "clientCertError", &cert.error},
      {OptionalLogField::kMtlsClientCertSha256Fingerprint, "clientCertSha256Fingerprint",
       &cert.sha256_fingerprint},
      {OptionalLogField::kMtlsClientCertSerialNumber, "clientCertSerialNumber",
       &cert.serial_number},
      {OptionalLogField::kMtlsClientCertValidStartTime, "clientCertValidStartTime",
       &cert.valid_not_before},
      {OptionalLogField::kMtlsClientCertValidEndTime, "clientCertValidEndTime",
       &cert.valid_not_after},
      {OptionalLogField::kMtlsClientCertSpiffeId, "clientCertSpiffeId", &cert.spiffe_id},
      {OptionalLogField::kMtlsClientCertUriSans, "clientCertUriSans", &cert.uri_sans},
      {OptionalLogField::kMtlsClientCertDnsnameSans, "clientCertDnsnameSans", &cert.dnsname_sans},
      {OptionalLogField::kMtlsClientCertIssuerDn, "clientCertIssuerDn", &cert.issuer_dn},
      {OptionalLogField::kMtlsClientCertSubjectDn, "clientCertSubjectDn", &cert.subject_dn},
      {OptionalLogField::kMtlsClientCertLeaf, "clientCertLeaf", &cert.leaf},
      {OptionalLogField::kMtlsClientCertChain, "clientCertChain", &cert.chain},
  };
  for (const auto& [field, key, text] : texts) {
    if (kept(field)) put_if_set(out, key, *text);
  }
  return out;
}

boost::json::object make_json_payload(const AccessLogEntry& entry) {
  boost::json::object payload;
  payload["@type"] = kLogEntryType;
  put_if_set(payload, "proxyStatus", entry.proxy_status);
  put_if_set(payload, "statusDetails", entry.status_details);
  payload["backendTargetProjectNumber"] = "projects/" + entry.project;
  if (entry.enforced_security_policy) {
    payload["enforcedSecurityPolicy"] = make_security_policy(*entry.enforced_security_policy);
  }
  if (entry.preview_security_policy) {
    payload["previewSecurityPolicy"] = make_security_policy(*entry.preview_security_policy);
  }
  if (entry.tls) {
    boost::json::object tls;
    put_if_set(tls, "protocol", entry.tls->protocol);
    put_if_set(tls, "cipherSuite", entry.tls->cipher_suite);
    put_if_set(tls, "sni", entry.tls->sni);
    if (entry.tls->early_data_request) tls["earlyDataRequest"] = *entry.tls->early_data_request;
    payload["tls"] = std::move(tls);
  }
  if (entry.mtls) {
    boost::json::object mtls = make_mtls(*entry.mtls, entry.mtls_fields);
    if (!mtls.empty()) payload["mtls"] = std::move(mtls);
  }
  if (!entry.cloud_run_service.empty() || !entry.tag.empty()) {
    boost::json::object extras;
    put_if_set(extras, "cloudRunService", entry.cloud_run_service);
    put_if_set(extras, "tag", entry.tag);
    payload["albemu"] = std::move(extras);
  }
  return payload;
}

}  // namespace

// Field by field rather than `= AccessLogEntry{}`: assigning a fresh entry would free every
// string's buffer. Lists every member (tests/proxy/log/access_log_test.cc checks it against a
// fresh entry).
void AccessLogEntry::reset() {
  timestamp = {};
  for (std::string* text :
       {&project, &region, &network, &forwarding_rule, &target_proxy, &url_map, &backend_service,
        &network_endpoint_group, &cloud_run_service, &tag, &method, &request_url, &user_agent,
        &referer, &remote_ip, &server_ip, &proxy_status, &status_details}) {
    text->clear();
  }
  matched_url_path_rule.assign("UNMATCHED");
  request_size = 0;
  status = 0;
  response_size = 0;
  latency = std::chrono::microseconds{0};
  protocol.assign("HTTP/1.1");
  enforced_security_policy.reset();
  preview_security_policy.reset();
  tls.reset();
  mtls.reset();
  mtls_fields = model::kAllOptionalLogFields;
}

void keep_optional_fields(AccessLogEntry& entry, model::OptionalLogFields keep) {
  using model::OptionalLogField;
  const auto kept = [keep](OptionalLogField field) {
    return (keep & model::log_field_bit(field)) != 0;
  };
  if (entry.tls) {
    TlsLogInfo& tls = *entry.tls;
    if (!kept(OptionalLogField::kTlsProtocol)) tls.protocol.clear();
    if (!kept(OptionalLogField::kTlsCipher)) tls.cipher_suite.clear();
    if (!kept(OptionalLogField::kTlsEarlyDataRequest)) tls.early_data_request.reset();
    if (tls.protocol.empty() && tls.cipher_suite.empty() && !tls.early_data_request) {
      entry.tls.reset();
    }
  }
  entry.mtls_fields = keep;
  constexpr model::OptionalLogFields kMtlsFields =
      model::kAllOptionalLogFields &
      ~(model::log_field_bit(OptionalLogField::kTlsProtocol) |
        model::log_field_bit(OptionalLogField::kTlsCipher) |
        model::log_field_bit(OptionalLogField::kTlsEarlyDataRequest));
  if ((keep & kMtlsFields) == 0) entry.mtls.reset();
}

std::string format_access_log_entry(const AccessLogEntry& entry) {
  boost::json::object root;
  root["httpRequest"] = make_http_request(entry);
  root["resource"] = make_resource(entry);
  root["jsonPayload"] = make_json_payload(entry);
  // LB-generated errors are WARNING; a backend's own 5xx (no proxyStatus) stays INFO.
  const bool lb_generated_error = !entry.proxy_status.empty() && entry.status >= 500;
  root["severity"] = lb_generated_error ? "WARNING" : "INFO";
  root["timestamp"] = format_timestamp(entry.timestamp);
  root["logName"] = "projects/" + entry.project + "/logs/loadbalancing.googleapis.com%2Frequests";
  return boost::json::serialize(root);
}

std::unique_ptr<AccessLog> AccessLog::open(const std::string& path_or_dash, std::string& error) {
  return open(path_or_dash, error, AccessLogLimits{});
}

std::unique_ptr<AccessLog> AccessLog::open(const std::string& path_or_dash, std::string& error,
                                           AccessLogLimits limits) {
  if (path_or_dash == "-") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false, limits));
  std::FILE* file = std::fopen(path_or_dash.c_str(), "a");
  if (file == nullptr) {
    error = "cannot open access log " + path_or_dash + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<AccessLog>(new AccessLog(file, true, limits));
}

AccessLog::AccessLog(std::FILE* file, bool owned, AccessLogLimits limits)
    : limits_(limits), file_(file), owned_(owned), writer_([this] { run_writer(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  has_work_.notify_one();
  writer_.join();
  warn_about_drops(true);
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

void AccessLog::write(const AccessLogEntry& entry) { write_line(format_access_log_entry(entry)); }

void AccessLog::write_line(std::string line) {
  line.push_back('\n');
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= limits_.max_queued_lines ||
        queued_bytes_ + line.size() > limits_.max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  // The writer only sleeps on an empty queue, so only the first line of a batch wakes it.
  if (was_empty) has_work_.notify_one();
}

void AccessLog::run_writer() {
  std::vector<std::string> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    batch.swap(queue_);
    queued_bytes_ = 0;
    lock.unlock();
    // stdio buffers the batch; one flush per batch, not per line.
    for (const auto& line : batch) std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
    batch.clear();
    warn_about_drops(false);
    lock.lock();
  }
}

void AccessLog::warn_about_drops(bool force) {
  // Runs on the writer thread (or after it ended), never on a worker: stderr may block too.
  constexpr auto kWarningInterval = std::chrono::seconds(10);
  const uint64_t dropped = dropped_.load(std::memory_order_relaxed);
  if (dropped == reported_drops_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && reported_drops_ != 0 && now - last_warning_ < kWarningInterval) return;
  std::fprintf(stderr, "albemu: access log cannot keep up; dropped %llu line(s) (%llu in total)\n",
               static_cast<unsigned long long>(dropped - reported_drops_),
               static_cast<unsigned long long>(dropped));
  reported_drops_ = dropped;
  last_warning_ = now;
}

}  // namespace albemu::log
