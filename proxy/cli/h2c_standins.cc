#include "proxy/cli/h2c_standins.h"

#include <iostream>
#include <set>
#include <vector>

namespace albemu::cli {

namespace {

/// The key of one h2c stand-in: a service of one project and region, and a tag (or none).
std::string standin_key(const model::Config& config, const model::CloudRunService& service,
                        const std::string& tag) {
  const std::string& project = service.project.empty() ? config.project : service.project;
  const std::string& region = service.region.empty() ? config.region : service.region;
  return project + "/" + region + "/" + service.name + "/" + tag;
}

/// Calls `fn(tag, urls)` for the untagged URLs (tag "") and each tag's of `service`.
template <class Service, class Fn>
void for_each_endpoint_list(Service& service, Fn&& fn) {
  fn(std::string(), service.urls);
  for (auto& [tag, urls] : service.tags) fn(tag, urls);
}

}  // namespace

void H2cStandins::provide(model::Config& config) {
  for (model::CloudRunService& service : config.cloud_run_services) {
    if (!service.use_http2) continue;
    for_each_endpoint_list(service, [&](const std::string& tag, std::vector<std::string>& urls) {
      if (!urls.empty()) return;
      const std::string key = standin_key(config, service, tag);
      auto found = running_.find(key);
      if (found == running_.end()) {
        standin::StandinOptions options;
        options.http2 = true;
        // The built-in stand-in's revision name, so both kinds answer alike.
        options.identity = {service.name, service.name + "-00001-std", tag};
        auto server = std::make_unique<standin::StandinServer>(std::move(options));
        if (const auto ec = server->start()) {
          std::cerr << "albemu serve: no h2c stand-in for Cloud Run service " << service.name
                    << ": " << ec.message() << "; the built-in stand-in answers it\n";
          return;
        }
        const std::string url = "http://" + server->address();
        std::cerr << "albemu serve: Cloud Run service " << service.name
                  << (tag.empty() ? "" : " tag " + tag) << " (useHttp2, no url): h2c stand-in on "
                  << url << "\n";
        found = running_.emplace(key, Running{url, std::move(server)}).first;
      }
      urls.push_back(found->second.url);
    });
  }
}

void H2cStandins::keep_only(const model::Config& applied) {
  std::set<std::string> used;
  for (const model::CloudRunService& service : applied.cloud_run_services) {
    if (!service.use_http2) continue;
    for_each_endpoint_list(
        service, [&](const std::string& tag, const std::vector<std::string>& urls) {
          const std::string key = standin_key(applied, service, tag);
          const auto found = running_.find(key);
          if (found != running_.end() && urls.size() == 1 && urls.front() == found->second.url) {
            used.insert(key);
          }
        });
  }
  std::erase_if(running_, [&](const auto& entry) { return !used.contains(entry.first); });
}

}  // namespace albemu::cli
