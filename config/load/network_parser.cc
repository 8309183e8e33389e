// networks and subnetworks.

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"

namespace albemu::config {

model::Network parse_network(const YamlCursor& resource, const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::Network network;
  read_resource_header(resource, reader, defaults, network, /*regional=*/false);
  network.auto_create_subnetworks = reader.flag("autoCreateSubnetworks");
  reader.ignore({"routingConfig", "mtu", "networkFirewallPolicyEnforcementOrder", "subnetworks",
                 "peerings", "enableUlaInternalIpv6", "internalIpv6Range", "gatewayIPv4",
                 "IPv4Range", "firewallPolicy", "networkProfile",
                 // gcloud's describe output adds these client-side fields.
                 "x_gcloud_bgp_routing_mode", "x_gcloud_subnet_mode"});
  return network;
}

model::Subnetwork parse_subnetwork(const YamlCursor& resource, const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::Subnetwork subnetwork;
  read_resource_header(resource, reader, defaults, subnetwork);
  subnetwork.network =
      complete_reference(reader.required_reference("network"), subnetwork, /*global=*/true);
  YamlCursor range = reader.take("ipCidrRange");
  subnetwork.ip_cidr_range = range.as_string().value_or("");
  if (!range.present() && reader.valid()) {
    range.error("is required");
  } else if (range.present()) {
    std::string problem = check_ip_range(subnetwork.ip_cidr_range);
    if (!problem.empty()) range.error(problem);
  }
  subnetwork.purpose =
      reader
          .optional_enum("purpose", {"PRIVATE", "PRIVATE_RFC_1918", "REGIONAL_MANAGED_PROXY",
                                     "GLOBAL_MANAGED_PROXY", "INTERNAL_HTTPS_LOAD_BALANCER",
                                     "PRIVATE_SERVICE_CONNECT", "PRIVATE_NAT"})
          .value_or("PRIVATE");
  YamlCursor role = reader.take("role");
  if (std::optional<std::string> value = role.as_string()) {
    if (*value != "ACTIVE" && *value != "BACKUP") {
      role.error("'" + *value + "' is not one of ACTIVE, BACKUP");
    }
    subnetwork.role = *value;
  }
  reader.ignore({"privateIpGoogleAccess", "stackType", "logConfig", "secondaryIpRanges",
                 "enableFlowLogs", "privateIpv6GoogleAccess", "ipv6AccessType", "ipv6CidrRange",
                 "externalIpv6Prefix", "internalIpv6Prefix", "reservedInternalRange"});
  return subnetwork;
}

}  // namespace albemu::config
