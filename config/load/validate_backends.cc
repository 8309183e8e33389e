// Backend services, their serverless NEGs and the Cloud Run services those name.

#include <cstddef>
#include <string>
#include <vector>

#include "config/load/validate_context.h"

namespace albemu::config::validation {

namespace {

void check_backend_service(Validator& validator, const model::BackendService& backend_service) {
  const Referrer from = validator.backend_services.referrer(backend_service);
  // No backends is valid, as in compute (the guide creates the service before add-backend);
  // the requests routed to it get 503 failed_to_pick_backend.
  for (std::size_t i = 0; i < backend_service.backends.size(); ++i) {
    const std::string field = ".backends[" + std::to_string(i) + "]";
    validator.resolve(from, field + ".group", backend_service.backends[i].group,
                      validator.network_endpoint_groups);
    if (i > 0) {
      validator.error(from, field,
                      "too many backends: a regional backend service may hold only one "
                      "serverless NEG, and backends[0] already names one");
    }
  }
  if (backend_service.security_policy) {
    validator.resolve(from, ".securityPolicy", *backend_service.security_policy,
                      validator.security_policies);
  }
}

/// cloudRun.service (a plain name, not a reference) must name a Cloud Run service in the
/// NEG's own project and region; a tag, if given, must be one that service declares.
void check_cloud_run_service(Validator& validator, const Referrer& from,
                             const model::CloudRunTarget& target) {
  const std::string& name = *target.service;
  const auto& services = validator.cloud_run_services;
  const model::CloudRunService* service = services.find(from.location, name);
  if (service == nullptr) {
    std::vector<Location> elsewhere = Validator::elsewhere(services, name);
    if (!elsewhere.empty() && elsewhere.front().project == from.location.project) {
      validator.error(from, ".cloudRun.service",
                      "cross-region reference: Cloud Run service \"" + name + "\" is in region \"" +
                          elsewhere.front().region + "\" but " + from.path + " is in region \"" +
                          from.location.region +
                          "\"; a serverless NEG must be in the same project and region as its "
                          "Cloud Run service");
    } else {
      validator.error(
          from, ".cloudRun.service",
          Validator::unresolved_message(services.kind(), name, from.location, elsewhere));
    }
    return;
  }
  if (target.tag && service->tags.find(*target.tag) == service->tags.end()) {
    std::string declared;
    for (const auto& [tag, urls] : service->tags) {
      declared += declared.empty() ? "" : ", ";
      declared += tag;
    }
    validator.error(
        from, ".cloudRun.tag",
        "unknown tag: Cloud Run service \"" + name + "\" (" + services.path_of(*service) +
            ") declares no tag \"" + *target.tag +
            "\" (declared tags: " + (declared.empty() ? std::string("none") : declared) + ")");
  }
}

void check_network_endpoint_group(Validator& validator, const model::NetworkEndpointGroup& neg) {
  const Referrer from = validator.network_endpoint_groups.referrer(neg);
  if (neg.network_endpoint_type != "SERVERLESS") {
    validator.error(from, ".networkEndpointType",
                    "unsupported network endpoint group: networkEndpointType must be SERVERLESS "
                    "(albemu emulates serverless NEGs only), got \"" +
                        neg.network_endpoint_type + "\"");
  }
  if (!neg.cloud_run) {
    validator.error(from, ".cloudRun",
                    "missing cloudRun: a serverless NEG behind a regional internal Application "
                    "Load Balancer must point at Cloud Run (service or urlMask)");
    return;
  }
  const model::CloudRunTarget& target = *neg.cloud_run;
  if (target.service && target.url_mask) {
    validator.error(from, ".cloudRun.urlMask",
                    "conflicting fields: set either cloudRun.service or cloudRun.urlMask, not "
                    "both (a serverless NEG has a single endpoint)");
  } else if (!target.service && !target.url_mask) {
    validator.error(from, ".cloudRun",
                    "missing Cloud Run target: cloudRun needs a service or a urlMask");
  } else if (target.url_mask && target.url_mask->find("<service>") == std::string::npos) {
    validator.error(from, ".cloudRun.urlMask",
                    "URL mask \"" + *target.url_mask +
                        "\" has no <service> placeholder, and cloudRun.service is not given, so "
                        "no request could name a Cloud Run service");
  }
  if (target.service) check_cloud_run_service(validator, from, target);
}

}  // namespace

void check_backends(Validator& validator) {
  for (const model::BackendService& backend_service : validator.config().backend_services) {
    check_backend_service(validator, backend_service);
  }
  for (const model::NetworkEndpointGroup& neg : validator.config().network_endpoint_groups) {
    check_network_endpoint_group(validator, neg);
  }
}

}  // namespace albemu::config::validation
