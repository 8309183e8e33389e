#pragma once
// Shared machinery of validate_config(): per-collection lookup tables keyed by
// (project, region, name), reference resolution with GCP's defaulting rules, and error
// collection. Internal to config/load/validate*.cc; runs on the thread that loads the config.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/config_error.h"
#include "config/field_path.h"
#include "config/model/resources.h"

namespace albemu::config::validation {

/// Where a resource lives. `region` is empty for global resources (networks).
struct Location {
  std::string project;
  std::string region;
};

/// The resource that makes references: errors go to its file, and a reference's empty
/// project/region mean this resource's own.
struct Referrer {
  const model::Origin* origin = nullptr;
  Location location;
  std::string path;  // e.g. "urlMaps[lb-map]"; field paths are appended to it
};

/// "project \"p\", region \"r\"" (or just the project for a global location).
std::string describe(const Location& location);

/// `collection[name]`, or `collection[index]` when the resource has no name.
std::string entry_path(std::string_view collection, std::string_view name, std::size_t index);

/// One collection of the config (e.g. backendServices) with a name lookup. Keeps pointers
/// into the config, which must outlive it.
template <class T>
class Collection {
 public:
  /// Every collection is regional but networks (global resources, their region left empty).
  static constexpr bool kRegional = !std::is_same_v<T, model::Network>;

  /// `name` is the YAML key and the collection segment of references ("backendServices");
  /// `kind` is how messages call one resource ("backend service").
  Collection(std::string name, std::string kind, const std::vector<T>& items,
             const Location& defaults)
      : name_(std::move(name)), kind_(std::move(kind)), items_(items), defaults_(defaults) {
    for (const T& item : items_) {
      // The first declaration wins; later duplicates are reported separately.
      by_key_.try_emplace(key(location_of(item), item.name), &item);
    }
  }

  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }
  const std::vector<T>& items() const { return items_; }

  /// The resource's own project/region, or the config defaults where it left them empty.
  Location location_of(const T& item) const {
    Location location{item.project.empty() ? defaults_.project : item.project, ""};
    if constexpr (kRegional) {
      location.region = item.region.empty() ? defaults_.region : item.region;
    }
    return location;
  }

  /// The first resource declared with this name at this location, or null.
  const T* find(const Location& location, std::string_view name) const {
    auto it = by_key_.find(key(location, name));
    return it == by_key_.end() ? nullptr : it->second;
  }

  /// Every resource with this name, wherever it lives (for "did you mean" hints).
  std::vector<const T*> with_name(std::string_view name) const {
    std::vector<const T*> out;
    for (const T& item : items_) {
      if (item.name == name) out.push_back(&item);
    }
    return out;
  }

  /// "backendServices[web]" for a resource of this collection.
  std::string path_of(const T& item) const {
    return entry_path(name_, item.name, static_cast<std::size_t>(&item - items_.data()));
  }

  /// The resource as the maker of references.
  Referrer referrer(const T& item) const {
    return Referrer{&item.origin, location_of(item), path_of(item)};
  }

  /// Key of the lookup table; regions are ignored for global collections.
  std::string key(const Location& location, std::string_view name) const {
    std::string out = location.project;
    out += '\n';
    if constexpr (kRegional) out += location.region;
    out += '\n';
    out += name;
    return out;
  }

 private:
  std::string name_;
  std::string kind_;
  const std::vector<T>& items_;
  Location defaults_;
  std::map<std::string, const T*, std::less<>> by_key_;
};

/// Everything the individual checks share: the config, its collections and the errors found.
class Validator {
 public:
  explicit Validator(const model::Config& config);

  const model::Config& config() const { return config_; }

  /// Adds an error at `from.path + field` in the referrer's file.
  void error(const Referrer& from, std::string_view field, std::string message);
  ConfigErrors take_errors() { return std::move(errors_); }

  /// Where `ref`, made by `from`, points: its own project/region, or the referrer's. The
  /// collection only tells whether a region applies.
  template <class T>
  Location target_location(const Referrer& from, const model::ResourceRef& ref,
                           const Collection<T>& /*in*/) const {
    Location location{ref.project.empty() ? from.location.project : ref.project, ""};
    if constexpr (Collection<T>::kRegional) {
      location.region = ref.region.empty() ? from.location.region : ref.region;
    }
    return location;
  }

  /// Resolves `ref` without reporting anything: null when it names another collection or
  /// nothing is declared there.
  template <class T>
  const T* lookup(const Referrer& from, const model::ResourceRef& ref,
                  const Collection<T>& in) const {
    if (ref.empty() || (!ref.collection.empty() && ref.collection != in.name())) return nullptr;
    return in.find(target_location(from, ref, in), ref.name);
  }

  /// Resolves `ref` made at `from.path + field`, reporting a reference to the wrong
  /// collection, to nothing declared, or (for regional collections) to another region.
  /// Returns the resource when one is declared where the reference points, even across
  /// regions, so later checks can still look at it.
  /// `field` is a std::string_view, or a relative FieldPath written out only for an error.
  template <class T, class Field>
  const T* resolve(const Referrer& from, const Field& field, const model::ResourceRef& ref,
                   const Collection<T>& in) {
    // An empty reference is a required field left out or a malformed reference; the
    // loader reports both at the field, so saying it again here would only repeat it.
    if (ref.empty()) return nullptr;
    if (!ref.collection.empty() && ref.collection != in.name()) {
      error(from, text_of(field),
            "wrong resource type: \"" + ref.text + "\" refers to " + ref.collection +
                ", but this field takes a " + in.kind() + " (" + in.name() + ")");
      return nullptr;
    }
    const Location location = target_location(from, ref, in);
    if (const T* found = in.find(location, ref.name)) {
      if constexpr (Collection<T>::kRegional) {
        // Checked here too, so that a FieldPath is written out only for a report.
        if (location.region != from.location.region) {
          report_cross_region(from, text_of(field), in.kind(), ref.name, location.region);
        }
      }
      return found;
    }
    error(from, text_of(field),
          unresolved_message(in.kind(), ref.name, location, elsewhere(in, ref.name)));
    return nullptr;
  }

  static std::string_view text_of(std::string_view field) { return field; }
  static std::string text_of(const FieldPath& field) { return field.str(); }

  /// Reports a cross-region reference when `target_region` differs from the referrer's.
  void report_cross_region(const Referrer& from, std::string_view field, std::string_view kind,
                           std::string_view name, const std::string& target_region);

  /// "unresolved reference: no backend service \"x\" in project ..., region ..." plus where
  /// resources of that name do exist, if anywhere.
  static std::string unresolved_message(std::string_view kind, std::string_view name,
                                        const Location& location,
                                        const std::vector<Location>& elsewhere);

  template <class T>
  static std::vector<Location> elsewhere(const Collection<T>& in, std::string_view name) {
    std::vector<Location> out;
    for (const T* item : in.with_name(name)) out.push_back(in.location_of(*item));
    return out;
  }

  const Collection<model::Network> networks;
  const Collection<model::Subnetwork> subnetworks;
  const Collection<model::CloudRunService> cloud_run_services;
  const Collection<model::NetworkEndpointGroup> network_endpoint_groups;
  const Collection<model::BackendService> backend_services;
  const Collection<model::SecurityPolicy> security_policies;
  const Collection<model::UrlMap> url_maps;
  const Collection<model::SslCertificate> ssl_certificates;
  const Collection<model::SslPolicy> ssl_policies;
  const Collection<model::TrustConfig> trust_configs;
  const Collection<model::ServerTlsPolicy> server_tls_policies;
  const Collection<model::TargetHttpProxy> target_http_proxies;
  const Collection<model::TargetHttpsProxy> target_https_proxies;
  const Collection<model::ForwardingRule> forwarding_rules;

 private:
  const model::Config& config_;
  ConfigErrors errors_;
};

/// Duplicate names within one collection and location.
void check_duplicate_names(Validator& validator);

/// URL maps: backend service references, path matchers, hosts, httpsRedirect, mirrors.
void check_url_maps(Validator& validator);

/// Backend services, serverless NEGs and the Cloud Run services they name.
void check_backends(Validator& validator);

/// Target proxies, forwarding rules, networks, subnetworks and the proxy-only subnet.
void check_frontends(Validator& validator);

}  // namespace albemu::config::validation
