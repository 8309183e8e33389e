#pragma once

#include <boost/json/object.hpp>

#include "proxy/log/metrics.h"

namespace albemu::admin {

/// The live counters as JSON, for GET /stats (what the console page polls):
///   generation, activeConnections, reloads {succeeded, failed},
///   total {requests, errors, codes},
///   forwardingRules / urlMaps / backendServices: name -> {requests, errors, codes}
///     (forwardingRules also carry averageLatencyMs; backendServices key "" holds requests
///     the load balancer answered without a backend: redirects, aborts, no route),
///   series: [{forwardingRule, urlMap, backendService, codeClass, count}].
/// `errors` counts 5xx answers; `codes` maps a status class ("2xx", "5xx", "none") to a count.
boost::json::object stats_to_json(const log::MetricsTotals& totals);

}  // namespace albemu::admin
