#pragma once
// Which requests get an access-log line, and with which optional fields: a backend
// service's logConfig as GCP applies it
// (https://cloud.google.com/load-balancing/docs/l7-internal/monitoring):
//  - a request served for a backend service is logged only if the service has
//    `logConfig.enable: true`, and then with probability `sampleRate` (default 1.0);
//  - "even when logging is disabled for a backend service, the load balancer might produce
//    log entries for unsuccessful requests if [it] can't associate those requests with a
//    particular backend": albemu always logs a failed request (no response, or a status of
//    400 and above) that reached no backend (no NEG was picked), unsampled; a redirect or
//    other success without a backend is not logged;
//  - optional fields follow `optionalMode` (default EXCLUDE_ALL_OPTIONAL).

#include <cstdint>

#include "config/model/log_fields.h"
#include "config/model/resources.h"

namespace albemu::core {

/// A backend service's compiled logConfig.
struct LogPolicy {
  bool enabled = false;
  double sample_rate = 1.0;
  model::OptionalLogFields optional_fields = 0;
};

/// Compiles `service.log_config` (absent: logging off).
LogPolicy compile_log_policy(const model::BackendService& service);

/// What a finished request tells the log decision.
struct LogFacts {
  const LogPolicy* policy = nullptr;  // the backend service's; null: no backend service
  bool backend_associated = false;    // a backend (NEG) was picked for the request
  int status = 0;                     // 0: no response was sent
};

/// Whether the request gets a log line. `draw` is uniform in [0, 1) (used only for sampling).
/// Pure; any thread.
bool should_log_request(const LogFacts& facts, double draw);

/// The optional fields a logged request keeps: its service's when the service logs, else
/// none (GCP's default mode, EXCLUDE_ALL_OPTIONAL).
model::OptionalLogFields logged_optional_fields(const LogPolicy* policy);

}  // namespace albemu::core
