#pragma once
// Explains one routing decision as JSON: which forwarding rule, URL map, host rule, path
// matcher and rule matched, what the request becomes (backend service, NEG, Cloud Run service,
// tag, upstream URL, header actions) or why it is answered by the load balancer (redirect,
// fault-injection abort, failed_to_pick_backend). What `albemu route` prints and the admin
// endpoint's GET /route returns. Pure: no I/O; any thread.

#include <boost/json/object.hpp>
#include <string>
#include <utility>
#include <vector>

#include "proxy/core/snapshot.h"

namespace albemu::core {

/// A request to explain, as a client would send it.
struct ExplainRequest {
  std::string url;  // absolute: http://host[:port]/path?query or https://...
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // a `Host` header overrides the URL's
  std::string forwarding_rule;  // empty: chosen from the URL's port and scheme
};

/// The explanation. Keys (null when they do not apply):
///   forwardingRule, targetProxy, urlMap, hostRule (matched hosts array), pathMatcher,
///   matchedRule ("UNMATCHED" for defaults), action ("forward" | "redirect" | "abort" | "error"),
///   backendService, networkEndpointGroup, cloudRunService, tag, endpoints (stand-in URLs, []
///   for the built-in stand-in), upstreamUrl, hops ({loadBalancerToCloudRun: "HTTP/1.1" |
///   "HTTP/2", cloudRunToContainer: "HTTP/1.1" | "h2c"}), warning (a combination that cannot
///   carry the request, e.g. gRPC over an HTTP/1.1 hop), status, location, requestHeadersToAdd,
///   requestHeadersToRemove, responseHeadersToAdd, responseHeadersToRemove, proxyStatus,
///   faultInjection, timeoutMs, error (a readable reason for "error").
/// Forwarding rule choice: `request.forwarding_rule`, else the first rule whose port is the
/// URL's (default 80/443) and whose proxy kind matches the scheme, else the first rule whose
/// port matches, else the first rule. An unknown rule name or an unparsable URL gives
/// action "error" with `error` set and `status` null.
boost::json::object explain_route(const core::ConfigSnapshot& snapshot,
                                  const ExplainRequest& request);

}  // namespace albemu::core
