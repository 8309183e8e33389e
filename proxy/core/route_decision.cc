#include "proxy/core/route_decision.h"

namespace albemu::core {

// Field by field rather than `= RouteDecision{}`: assigning a fresh object would free every
// string's buffer, and a keep-alive connection would allocate them again on each request.
// Lists every member (tests/proxy/core/route_decision_test.cc checks it against a fresh one).
void RouteDecision::reset() {
  action = RouteAction::kForward;
  host_rule_hosts = nullptr;
  path_matcher = {};
  matched_rule = {};
  backend_service = {};
  upstream_host.clear();
  upstream_target.clear();
  policy = nullptr;
  status = 0;
  location.clear();
  header_actions = {};
}

}  // namespace albemu::core
