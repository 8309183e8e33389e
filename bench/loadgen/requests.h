#pragma once
// The requests the load generator sends: one pre-serialised HTTP/1.1 GET per Cloud Run service,
// so that a run spreads over every service the benchmark config declares.

#include <string>
#include <string_view>
#include <vector>

namespace albemu::loadgen {

/// How a request names its Cloud Run service: the first path segment (URL mask `/<service>`)
/// or the host (URL mask `<service>.<domain>`).
enum class RoutingMode { path, host };

/// The name of service `index` as the benchmark configs declare it: s0000, s0001, ...
std::string service_name(int index);

/// One keepalive GET per service, `services` in all. Path mode: `GET /<service>/bench` with
/// `Host: <authority>`; host mode: `GET /bench` with `Host: <service>.<domain>`.
std::vector<std::string> make_requests(RoutingMode mode, int services, std::string_view authority,
                                       std::string_view domain);

}  // namespace albemu::loadgen
