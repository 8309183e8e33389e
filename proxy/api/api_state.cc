#include "proxy/api/api_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace albemu::api {

namespace {

std::string last_segment(std::string_view text) {
  const size_t slash = text.rfind('/');
  return std::string(slash == std::string_view::npos ? text : text.substr(slash + 1));
}

const std::vector<boost::json::object> kNone;

}  // namespace

ResourceKey ApiState::key_of(const std::string& collection, const boost::json::object& resource) {
  return ResourceKey{string_field(resource, "project"),
                     last_segment(string_field(resource, "region")), collection,
                     string_field(resource, "name")};
}

boost::json::object* ApiState::find(const ResourceKey& key) {
  const auto it = items_.find(key.collection);
  if (it == items_.end()) return nullptr;
  for (auto& resource : it->second)
    if (key_of(key.collection, resource) == key) return &resource;
  return nullptr;
}

const boost::json::object* ApiState::find(const ResourceKey& key) const {
  return const_cast<ApiState*>(this)->find(key);
}

void ApiState::insert(const std::string& collection, boost::json::object resource) {
  items_[collection].push_back(std::move(resource));
}

bool ApiState::erase(const ResourceKey& key) {
  const auto it = items_.find(key.collection);
  if (it == items_.end()) return false;
  auto& list = it->second;
  for (auto item = list.begin(); item != list.end(); ++item) {
    if (key_of(key.collection, *item) == key) {
      list.erase(item);
      return true;
    }
  }
  return false;
}

const std::vector<boost::json::object>& ApiState::items(const std::string& collection) const {
  const auto it = items_.find(collection);
  return it == items_.end() ? kNone : it->second;
}

std::vector<std::pair<std::string, const boost::json::object*>> ApiState::all() const {
  std::vector<std::pair<std::string, const boost::json::object*>> out;
  for (const auto& [collection, list] : items_)
    for (const auto& resource : list) out.emplace_back(collection, &resource);
  return out;
}

std::string ApiState::to_document(const std::vector<boost::json::object>& implicit_services) const {
  // One resource per line: the file stays readable and diffable, and YAML reads JSON as is.
  std::string out = "{";
  bool first_section = true;
  const auto section = [&](std::string_view key,
                           const std::vector<const boost::json::object*>& list) {
    if (list.empty()) return;
    out += first_section ? "\n" : ",\n";
    first_section = false;
    out += boost::json::serialize(boost::json::string(key)) + ": [";
    for (size_t i = 0; i < list.size(); ++i)
      out += (i == 0 ? "\n  " : ",\n  ") + boost::json::serialize(*list[i]);
    out += "\n]";
  };
  std::vector<const boost::json::object*> services;
  for (const auto& service : items(std::string(kCloudRunServices))) services.push_back(&service);
  for (const auto& service : implicit_services) services.push_back(&service);
  section(kCloudRunServices, services);
  for (const Collection& collection : collections()) {
    std::vector<const boost::json::object*> list;
    for (const auto& resource : items(std::string(collection.name))) list.push_back(&resource);
    section(collection.name, list);
  }
  return out + "\n}\n";
}

bool ApiState::from_document(const std::string& text, std::string& error) {
  boost::system::error_code ec;
  const boost::json::value document = boost::json::parse(text, ec);
  if (ec || !document.is_object()) {
    error = "not a JSON object (albemu writes this file; edit it through the API)";
    return false;
  }
  for (const auto& [key, value] : document.as_object()) {
    const bool services = key == kCloudRunServices;
    if ((!services && find_collection(key) == nullptr) || !value.is_array()) {
      error = "unexpected top-level key '" + std::string(key) + "'";
      return false;
    }
    for (const auto& item : value.as_array()) {
      if (!item.is_object()) {
        error = "an entry of '" + std::string(key) + "' is not an object";
        return false;
      }
      const auto& resource = item.as_object();
      // Stand-ins added for NEGs are derived again on every write, not kept.
      const auto* labels = resource.if_contains("labels");
      if (services && labels != nullptr && labels->is_object() &&
          labels->as_object().contains(kImplicitLabel))
        continue;
      items_[std::string(key)].push_back(resource);
    }
  }
  return true;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string& error) {
  const std::string temporary = path + ".tmp" + std::to_string(::getpid());
  // Owner-only: the API's document holds certificates' private keys.
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool written = fd >= 0;
  for (std::size_t at = 0; written && at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    written = n > 0;
    if (written) at += static_cast<std::size_t>(n);
  }
  if (fd >= 0 && ::close(fd) != 0) written = false;
  if (!written) {
    error = "cannot write " + temporary + ": " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    error = "cannot rename " + temporary + " to " + path + ": " + ec.message();
    std::filesystem::remove(temporary, ec);
    return false;
  }
  return true;
}

}  // namespace albemu::api
