#pragma once
// The resources created through the API, held as compute v1 JSON objects, and their one
// stored document (an albemu collection document; JSON text, which YAML reads as is).

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "proxy/api/compute_resources.h"

namespace albemu::api {

/// The collection key of albemu's own Cloud Run stand-ins in the stored document.
inline constexpr std::string_view kCloudRunServices = "cloudRunServices";
/// The label marking a stand-in the API added for a NEG's service that nothing declares.
inline constexpr std::string_view kImplicitLabel = "albemu-implicit";

/// API-created resources, per collection in creation order. Each object is what `get`
/// returns plus `project` (albemu's per-resource project field, hidden from clients); a
/// trust config or server TLS policy is kept with its short `name` and its location as
/// `region`, the fields albemu's loader reads (get shows the full name instead).
class ApiState {
 public:
  /// The resource at `key`, or null.
  boost::json::object* find(const ResourceKey& key);
  const boost::json::object* find(const ResourceKey& key) const;
  /// Appends `resource` (which carries name, project and, if regional, region).
  void insert(const std::string& collection, boost::json::object resource);
  /// Removes the resource; false if absent.
  bool erase(const ResourceKey& key);

  /// The key of a stored resource of `collection`.
  static ResourceKey key_of(const std::string& collection, const boost::json::object& resource);

  const std::vector<boost::json::object>& items(const std::string& collection) const;
  /// Every (collection, resource), in document order.
  std::vector<std::pair<std::string, const boost::json::object*>> all() const;

  /// The stored document; `implicit_services` are added to cloudRunServices.
  std::string to_document(const std::vector<boost::json::object>& implicit_services) const;
  /// Adds the resources of a document written by to_document; false (and `error`) if it is
  /// not one.
  bool from_document(const std::string& text, std::string& error);

 private:
  std::map<std::string, std::vector<boost::json::object>, std::less<>> items_;
};

/// Writes `text` to `path` through a temporary file and a rename, so a reader (serve's
/// reload) never sees half a document.
bool write_file_atomically(const std::string& path, const std::string& text, std::string& error);

}  // namespace albemu::api
