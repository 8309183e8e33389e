#include "proxy/core/serverless_resolver.h"

#include <cstddef>
#include <deque>
#include <functional>
#include <unordered_map>
#include <utility>

namespace albemu::core {
namespace {

size_t hash_name(std::string_view name) { return std::hash<std::string_view>{}(name); }

/// An immutable-after-build map from name to Value for the request path: open addressing
/// with linear probing over (hash, index) slots, so a lookup hashes the key once and touches
/// one small array before comparing a single string. (std::unordered_map with a custom hash
/// does not store hash codes and re-hashes nodes while walking a bucket.) Entries live in a
/// deque, so their addresses stay valid as the table grows.
template <typename Value>
class NameTable {
 public:
  using Entry = std::pair<const std::string, Value>;

  /// Adds `name` unless present; returns the entry for `name` either way (the first wins).
  Entry& insert(std::string name, Value value) {
    if (Entry* existing = find_mutable(name)) return *existing;
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    entries_.emplace_back(std::move(name), std::move(value));
    place(hash_name(entries_.back().first), entries_.size() - 1);
    return entries_.back();
  }

  /// Null if absent. Never allocates.
  const Entry* find(std::string_view name) const {
    if (slots_.empty()) return nullptr;
    const size_t hash = hash_name(name);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.index == 0) return nullptr;
      const Entry& entry = entries_[slot.index - 1];
      if (slot.hash == hash && entry.first == name) return &entry;
    }
  }

 private:
  struct Slot {
    size_t hash = 0;
    size_t index = 0;  // entry index + 1; 0 marks an empty slot
  };

  Entry* find_mutable(std::string_view name) { return const_cast<Entry*>(find(name)); }

  void place(size_t hash, size_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].index != 0) i = (i + 1) & mask;
    slots_[i] = Slot{hash, index + 1};
  }

  void grow() {
    slots_.assign(slots_.empty() ? 8 : slots_.size() * 2, Slot{});
    for (size_t i = 0; i < entries_.size(); ++i) place(hash_name(entries_[i].first), i);
  }

  std::deque<Entry> entries_;
  std::vector<Slot> slots_;  // size is zero or a power of two, at most half full
};

/// A declared cloudRunServices entry, copied so the resolver does not depend on the config's
/// lifetime. Node-based maps keep the addresses ServerlessTarget points at stable.
struct CloudRunEntry {
  std::string name;
  std::vector<std::string> urls;
  NameTable<std::vector<std::string>> tags;
  bool use_http2 = false;
  std::string ca_certificate_file;
};

/// Cloud Run services of one project and region (a NEG only reaches its own region's).
using RegionServices = NameTable<CloudRunEntry>;

struct NegEntry {
  std::string name;
  const RegionServices* services = nullptr;  // null: nothing declared in the NEG's region
  std::optional<UrlMask> mask;
  std::string service;  // the fixed `cloudRun.service`, empty if unset
  std::string tag;      // the fixed `cloudRun.tag`, empty if unset
  // Without a mask the answer never changes: computed once (nullopt if undeclared).
  std::optional<ServerlessTarget> fixed_target;
};

std::string region_key(std::string_view project, std::string_view region) {
  std::string key(project);
  key += '/';
  key += region;
  return key;
}

std::string_view or_default(const std::string& value, const std::string& fallback) {
  return value.empty() ? std::string_view(fallback) : std::string_view(value);
}

// Looks `value` up as a name; a capture from the host is lower-cased first (hosts have no
// case, Cloud Run names are lower-case). Uses a stack buffer so the request path does not
// allocate for any name a Cloud Run service can have (at most 63 characters).
template <typename Table>
auto find_name(const Table& table, std::string_view value, bool from_host) {
  if (!from_host) return table.find(value);
  bool has_upper = false;
  for (char c : value) has_upper |= (c >= 'A' && c <= 'Z');
  if (!has_upper) return table.find(value);
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  char buffer[64];
  if (value.size() <= sizeof buffer) {
    for (size_t i = 0; i < value.size(); ++i) buffer[i] = lower(value[i]);
    return table.find(std::string_view(buffer, value.size()));
  }
  std::string copy(value);
  for (char& c : copy) c = lower(c);
  return table.find(std::string_view(copy));
}

// The target for `service` [+ `tag`] among `services`; nullopt if either is not declared.
std::optional<ServerlessTarget> pick(const NegEntry& neg, std::string_view service,
                                     bool service_from_host, std::string_view tag,
                                     bool tag_from_host) {
  if (neg.services == nullptr || service.empty()) return std::nullopt;
  const auto* found = find_name(*neg.services, service, service_from_host);
  if (found == nullptr) return std::nullopt;
  const CloudRunEntry& entry = found->second;
  ServerlessTarget target;
  target.network_endpoint_group = neg.name;
  target.cloud_run_service = entry.name;
  target.use_http2 = entry.use_http2;
  target.ca_certificate_file = entry.ca_certificate_file;
  if (tag.empty()) {
    target.endpoints = &entry.urls;
    return target;
  }
  const auto* tagged = find_name(entry.tags, tag, tag_from_host);
  if (tagged == nullptr) return std::nullopt;
  // Views into the resolver's own strings, never into the request.
  target.tag = tagged->first;
  target.endpoints = &tagged->second;
  return target;
}

// A masked NEG's target for this host and path.
std::optional<ServerlessTarget> match_mask(const NegEntry& neg, std::string_view host,
                                           std::string_view path) {
  UrlMask::Captures captures;
  if (!neg.mask->match_views(host, path, captures)) return std::nullopt;
  // What the mask captures wins; the NEG's fixed `service` / `tag` fill what it does not.
  std::string_view service = neg.mask->has_service() ? captures.service : neg.service;
  bool service_from_host = neg.mask->has_service() && captures.service_from_host;
  std::string_view tag = neg.mask->has_tag() ? captures.tag : neg.tag;
  bool tag_from_host = neg.mask->has_tag() && captures.tag_from_host;
  return pick(neg, service, service_from_host, tag, tag_from_host);
}

/// What a backend service resolves through: its NEG and the protocol of its hop to Cloud Run.
struct BackendServiceEntry {
  const NegEntry* neg = nullptr;
  bool hop_http2 = false;
};

}  // namespace

class ServerlessResolverImpl {
 public:
  std::unordered_map<std::string, RegionServices> regions;  // by "project/region"; build time only
  std::deque<NegEntry> negs;                                // deque: entries never move once added
  NameTable<BackendServiceEntry> backend_services;
};

ServerlessResolver::ServerlessResolver() : impl_(std::make_unique<ServerlessResolverImpl>()) {}
ServerlessResolver::~ServerlessResolver() = default;

std::shared_ptr<const ServerlessResolver> ServerlessResolver::create(const model::Config& config,
                                                                     config::ConfigErrors& errors) {
  std::shared_ptr<ServerlessResolver> resolver(new ServerlessResolver());
  ServerlessResolverImpl& impl = *resolver->impl_;
  const size_t errors_before = errors.size();

  for (const model::CloudRunService& service : config.cloud_run_services) {
    RegionServices& services = impl.regions[region_key(or_default(service.project, config.project),
                                                       or_default(service.region, config.region))];
    CloudRunEntry entry;
    entry.name = service.name;
    entry.urls = service.urls;
    entry.use_http2 = service.use_http2;
    entry.ca_certificate_file = service.ca_certificate_file;
    for (const auto& [tag, urls] : service.tags) entry.tags.insert(tag, urls);
    // A duplicate name is the validator's to report; the first declaration wins.
    services.insert(service.name, std::move(entry));
  }

  // NEGs by region and name, as backends[].group references them.
  std::unordered_map<std::string, const NegEntry*> negs_by_key;
  for (const model::NetworkEndpointGroup& neg : config.network_endpoint_groups) {
    if (!neg.cloud_run) continue;  // not a Cloud Run serverless NEG: nothing to resolve
    const model::CloudRunTarget& cloud_run = *neg.cloud_run;
    const std::string project(or_default(neg.project, config.project));
    const std::string region(or_default(neg.region, config.region));
    const std::string field_path = "networkEndpointGroups[" + neg.name + "].cloudRun";

    NegEntry entry;
    entry.name = neg.name;
    entry.service = cloud_run.service.value_or("");
    entry.tag = cloud_run.tag.value_or("");
    if (auto found = impl.regions.find(region_key(project, region)); found != impl.regions.end()) {
      entry.services = &found->second;
    }
    if (cloud_run.url_mask) {
      std::string error;
      entry.mask = UrlMask::parse(*cloud_run.url_mask, error);
      if (!entry.mask) {
        errors.push_back({neg.origin.file, field_path + ".urlMask", error});
        continue;
      }
    }
    const bool mask_gives_service = entry.mask && entry.mask->has_service();
    if (entry.service.empty() && !mask_gives_service) {
      errors.push_back({neg.origin.file, field_path,
                        "needs `service`, or a `urlMask` with a <service> placeholder"});
      continue;
    }
    // Views in a target point into the stored entry, so compute it only once it has moved.
    NegEntry& stored = impl.negs.emplace_back(std::move(entry));
    if (!stored.mask) {
      stored.fixed_target = pick(stored, stored.service, false, stored.tag, false);
    }
    negs_by_key.emplace(region + "/" + neg.name, &stored);
  }

  for (const model::BackendService& backend_service : config.backend_services) {
    const std::string& own_region =
        backend_service.region.empty() ? config.region : backend_service.region;
    // A regional backend service holds at most one serverless NEG: take the first that resolves.
    for (const model::Backend& backend : backend_service.backends) {
      const std::string& region = backend.group.region.empty() ? own_region : backend.group.region;
      auto found = negs_by_key.find(region + "/" + backend.group.name);
      if (found == negs_by_key.end()) continue;
      const bool hop_http2 =
          backend_service.protocol == "HTTP2" || backend_service.protocol == "H2C";
      impl.backend_services.insert(backend_service.name, {found->second, hop_http2});
      break;
    }
  }

  if (errors.size() != errors_before) return nullptr;
  return resolver;
}

std::optional<ServerlessTarget> ServerlessResolver::resolve(std::string_view backend_service,
                                                            std::string_view host,
                                                            std::string_view path) const {
  const auto* found = impl_->backend_services.find(backend_service);
  if (found == nullptr) return std::nullopt;
  const NegEntry& neg = *found->second.neg;
  std::optional<ServerlessTarget> target =
      neg.mask ? match_mask(neg, host, path) : neg.fixed_target;
  if (target) target->hop_http2 = found->second.hop_http2;
  return target;
}

}  // namespace albemu::core
