#include "proxy/api/compute_resources.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <random>
#include <sstream>

namespace albemu::api {

namespace {

constexpr std::string_view kApiRoot = "https://www.googleapis.com/compute/v1/";

// Referenced kinds come first so the stored document reads top-down like the tutorial.
// update/patch follow compute v1; PATCH is also accepted on regional target HTTP proxies,
// which gcloud updates (httpKeepAliveTimeoutSec) although the v1 surface has no method for it.
const std::vector<Collection> kCollections = {
    {"networks", "compute#network", "network", false, false, false, true},
    {"subnetworks", "compute#subnetwork", "subnetwork", true, true, false, true},
    {"networkEndpointGroups", "compute#networkEndpointGroup", "network_endpoint_group", true, false,
     false, false},
    {"securityPolicies", "compute#securityPolicy", "security_policy", true, true, false, true},
    {"backendServices", "compute#backendService", "backend_service", true, true, true, true},
    {"urlMaps", "compute#urlMap", "url_map", true, true, true, true},
    {"sslCertificates", "compute#sslCertificate", "ssl_certificate", true, false, false, false},
    {"trustConfigs", "", "trust_config", true, false, false, true, ServiceApi::kCertificateManager},
    {"serverTlsPolicies", "", "server_tls_policy", true, false, false, true,
     ServiceApi::kNetworkSecurity},
    {"targetHttpProxies", "compute#targetHttpProxy", "target_http_proxy", true, true, false, true},
    {"targetHttpsProxies", "compute#targetHttpsProxy", "target_https_proxy", true, true, false,
     true},
    {"forwardingRules", "compute#forwardingRule", "forwarding_rule", true, true, false, true},
};

bool location_based(std::string_view collection) {
  const Collection* found = find_collection(collection);
  return found != nullptr && found->api != ServiceApi::kCompute;
}

}  // namespace

const Collection* find_collection(std::string_view name) {
  for (const Collection& collection : kCollections)
    if (collection.name == name) return &collection;
  return nullptr;
}

const std::vector<Collection>& collections() { return kCollections; }

std::vector<std::string_view> path_segments(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const size_t slash = text.find('/');
    const std::string_view part = text.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    text.remove_prefix(slash + 1);
  }
  return parts;
}

std::optional<ComputePath> parse_compute_path(std::string_view path) {
  std::vector<std::string_view> parts = path_segments(path);
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "compute" && parts[1] == "v1") i = 2;
  if (parts.size() < i + 4 || parts[i] != "projects") return std::nullopt;
  ComputePath out;
  out.project = std::string(parts[i + 1]);
  i += 2;
  if (parts[i] == "regions") {
    if (parts.size() < i + 3) return std::nullopt;
    out.region = std::string(parts[i + 1]);
    i += 2;
  } else if (parts[i] == "global") {
    i += 1;
  } else if (parts[i] == "aggregated" && parts.size() == i + 2) {
    out.collection = std::string(parts[i + 1]);
    out.aggregated = true;
    return out;
  } else {
    return std::nullopt;
  }
  const size_t rest = parts.size() - i;
  if (rest < 1 || rest > 3) return std::nullopt;
  out.collection = std::string(parts[i]);
  if (rest >= 2) out.name = std::string(parts[i + 1]);
  if (rest == 3) out.verb = std::string(parts[i + 2]);
  return out;
}

std::string partial_url(const ResourceKey& key) {
  if (location_based(key.collection))
    return "projects/" + key.project + "/locations/" + key.region + "/" + key.collection + "/" +
           key.name;
  std::string out = "projects/" + key.project + "/";
  out += key.region.empty() ? "global" : "regions/" + key.region;
  return out + "/" + key.collection + "/" + key.name;
}

std::string full_url(const ResourceKey& key) {
  const Collection* collection = find_collection(key.collection);
  if (collection != nullptr && collection->api == ServiceApi::kNetworkSecurity)
    return "//networksecurity.googleapis.com/" + partial_url(key);
  if (collection != nullptr && collection->api == ServiceApi::kCertificateManager)
    return "//certificatemanager.googleapis.com/" + partial_url(key);
  return std::string(kApiRoot) + partial_url(key);
}

std::string region_url(const std::string& project, const std::string& region) {
  return std::string(kApiRoot) + "projects/" + project + "/regions/" + region;
}

std::string collection_url(const std::string& project, const std::string& region,
                           const std::string& collection) {
  return std::string(kApiRoot) + "projects/" + project + "/" +
         (region.empty() ? "global" : "regions/" + region) + "/" + collection;
}

std::optional<ResourceKey> parse_reference_url(std::string_view text) {
  if (text.starts_with("http://") || text.starts_with("https://") || text.starts_with("//")) {
    const size_t at = text.find("/projects/");
    if (at == std::string_view::npos) return std::nullopt;
    text.remove_prefix(at + 1);
  }
  std::vector<std::string_view> parts = path_segments(text);
  ResourceKey key;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "projects") {
    key.project = std::string(parts[1]);
    i = 2;
  }
  bool locations = false;
  if (parts.size() >= i + 2 && parts[i] == "regions") {
    key.region = std::string(parts[i + 1]);
    i += 2;
  } else if (parts.size() > i && parts[i] == "global") {
    i += 1;
  } else if (i == 2 && parts.size() >= i + 2 && parts[i] == "locations") {
    key.region = std::string(parts[i + 1]);
    locations = true;
    i += 2;
  } else {
    return std::nullopt;
  }
  if (parts.size() != i + 2 || find_collection(parts[i]) == nullptr ||
      location_based(parts[i]) != locations)
    return std::nullopt;
  key.collection = std::string(parts[i]);
  key.name = std::string(parts[i + 1]);
  return key;
}

void canonicalise_urls(boost::json::value& value) {
  if (value.is_object()) {
    for (auto& entry : value.as_object()) canonicalise_urls(entry.value());
  } else if (value.is_array()) {
    for (auto& item : value.as_array()) canonicalise_urls(item);
  } else if (value.is_string()) {
    const std::string_view text = value.as_string();
    if (!(text.starts_with("http://") || text.starts_with("https://")) ||
        text.starts_with(kApiRoot))
      return;
    const size_t at = text.find("/compute/v1/projects/");
    if (at == std::string_view::npos) return;
    value = std::string(kApiRoot) +
            std::string(text.substr(at + std::string_view("/compute/v1/").size()));
  }
}

std::string new_id() {
  static std::mt19937_64 generator{std::random_device{}()};
  // Compute ids are 19-digit-ish unsigned numbers; keep them in the upper range.
  std::uniform_int_distribution<uint64_t> distribution(1'000'000'000'000'000'000ULL,
                                                       9'000'000'000'000'000'000ULL);
  return std::to_string(distribution(generator));
}

std::string new_operation_name() {
  std::ostringstream hex;
  hex << std::hex << std::stoull(new_id());
  return "operation-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()) +
         "-" + hex.str();
}

std::string rfc3339_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03d+00:00", buffer, static_cast<int>(millis));
  return out;
}

std::string fingerprint_of(const boost::json::object& resource) {
  boost::json::object copy = resource;
  strip_output_only(copy);
  const std::string text = boost::json::serialize(copy);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char encoded[16] = {};
  EVP_EncodeBlock(encoded, digest, 8);
  return reinterpret_cast<const char*>(encoded);
}

boost::json::object certificate_facts(std::string_view pem) {
  boost::json::object out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return out;
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!certificate) return out;
  std::tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate.get()), &expiry) == 1) {
    char buffer[40];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S.000+00:00", &expiry);
    out["expireTime"] = buffer;
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    boost::json::array dns;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* value = name->d.dNSName;
      dns.emplace_back(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                        static_cast<size_t>(ASN1_STRING_length(value))));
    }
    GENERAL_NAMES_free(names);
    if (!dns.empty()) out["subjectAlternativeNames"] = std::move(dns);
  }
  return out;
}

void strip_output_only(boost::json::object& resource) {
  for (const char* field : {"id", "kind", "selfLink", "selfLinkWithId", "creationTimestamp",
                            "fingerprint", "region", "expireTime", "subjectAlternativeNames"})
    resource.erase(field);
}

std::string string_field(const boost::json::object& object, std::string_view field) {
  const auto* value = object.if_contains(field);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

}  // namespace albemu::api
