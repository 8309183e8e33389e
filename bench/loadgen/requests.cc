#include "bench/loadgen/requests.h"

#include <cstdio>

namespace albemu::loadgen {

std::string service_name(int index) {
  char name[16];
  std::snprintf(name, sizeof(name), "s%04d", index);
  return name;
}

std::vector<std::string> make_requests(RoutingMode mode, int services, std::string_view authority,
                                       std::string_view domain) {
  std::vector<std::string> requests;
  requests.reserve(static_cast<std::size_t>(services));
  for (int i = 0; i < services; ++i) {
    const std::string service = service_name(i);
    std::string request = "GET ";
    if (mode == RoutingMode::path) {
      request += "/" + service + "/bench HTTP/1.1\r\nHost: ";
      request += authority;
    } else {
      request += "/bench HTTP/1.1\r\nHost: " + service + ".";
      request += domain;
    }
    request += "\r\nUser-Agent: albemu-loadgen\r\n\r\n";
    requests.push_back(std::move(request));
  }
  return requests;
}

}  // namespace albemu::loadgen
