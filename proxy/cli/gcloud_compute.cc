// `albemu gcloud compute ...`: networks, subnets, serverless NEGs, backend services, SSL
// certificates, target proxies and forwarding rules, plus describe/list/delete of each, as
// gcloud sends them to compute and prints their results.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "proxy/cli/gcloud.h"

namespace albemu::cli::gcloud {

namespace {

/// A compute collection as gcloud's command groups name it.
struct Group {
  std::string words;       // "backend-services"
  std::string collection;  // "backendServices"
  bool regional = true;
  std::string singular;  // for prompts: "backend service"
};

const std::vector<Group>& groups() {
  static const std::vector<Group> kAll = {
      {"networks", "networks", false, "network"},
      {"networks subnets", "subnetworks", true, "subnetwork"},
      {"network-endpoint-groups", "networkEndpointGroups", true, "network endpoint group"},
      {"backend-services", "backendServices", true, "backend service"},
      {"url-maps", "urlMaps", true, "URL map"},
      {"ssl-certificates", "sslCertificates", true, "SSL certificate"},
      {"target-http-proxies", "targetHttpProxies", true, "target HTTP proxy"},
      {"target-https-proxies", "targetHttpsProxies", true, "target HTTPS proxy"},
      {"forwarding-rules", "forwardingRules", true, "forwarding rule"},
  };
  return kAll;
}

std::optional<std::string> region_of(const Invocation& invocation, const Group& group) {
  if (!group.regional) return std::string();
  return invocation.region();
}

/// gcloud's confirmation prompt, asked on a terminal only: --quiet and scripts go ahead
/// (gcloud itself refuses to prompt unattended; albemu's scripts replay the guide verbatim).
bool confirm(const Invocation& invocation, const std::string& message) {
  if (invocation.quiet || ::isatty(STDIN_FILENO) == 0) return true;
  std::cerr << message << "\n\nDo you want to continue (Y/n)?  ";
  std::string answer;
  std::getline(std::cin, answer);
  return answer.empty() || answer[0] == 'y' || answer[0] == 'Y';
}

/// POSTs `body` to the collection, waits for the operation, prints `Created [URL].` and, when
/// `table` is given, the new resource as gcloud's short table.
int create(const Invocation& invocation, const std::string& region, const std::string& collection,
           boost::json::object body,
           const std::function<std::vector<std::string>(const boost::json::value&)>& row = {},
           const std::vector<std::string>& header = {}) {
  body["name"] = invocation.name();
  if (invocation.has("description")) body["description"] = invocation.flag("description");
  const ApiReply reply = invocation.api->call(
      "POST", api_path(invocation.project, region, collection), boost::json::value(body));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  std::cerr << "Created ["
            << resource_url(invocation.project, region, collection, invocation.name()) << "].\n";
  if (row) {
    const ApiReply created = invocation.api->call(
        "GET", api_path(invocation.project, region, collection, invocation.name()));
    if (!created.ok()) return fail_api(invocation, created);
    print_table({header, row(created.body)});
  }
  return 0;
}

/// Sends a modification (PATCH, PUT or a set* POST) and prints `Updated [URL].` unless
/// `announce` is false (a command of several calls announces its last one only).
int update(const Invocation& invocation, const std::string& region, const std::string& collection,
           std::string_view method, const std::string& suffix, const boost::json::object& body,
           bool announce = true) {
  const ApiReply reply = invocation.api->call(
      method, api_path(invocation.project, region, collection, invocation.name()) + suffix,
      boost::json::value(body));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  if (!announce) return 0;
  std::cerr << "Updated ["
            << resource_url(invocation.project, region, collection, invocation.name()) << "].\n";
  return 0;
}

int describe(const Invocation& invocation, const Group& group) {
  const auto region = region_of(invocation, group);
  if (!region) return 1;
  const ApiReply reply = invocation.api->call(
      "GET", api_path(invocation.project, *region, group.collection, invocation.name()));
  if (!reply.ok()) return fail_api(invocation, reply);
  print_resource(invocation, reply.body);
  return 0;
}

int list(const Invocation& invocation, const Group& group) {
  std::string region = invocation.flag("regions", invocation.flag("region"));
  boost::json::array items;
  if (!group.regional || !region.empty()) {
    const ApiReply reply =
        invocation.api->call("GET", api_path(invocation.project, region, group.collection));
    if (!reply.ok()) return fail_api(invocation, reply);
    if (const auto* found = reply.body.as_object().if_contains("items"))
      for (const auto& item : found->as_array()) items.push_back(item);
  } else {
    const ApiReply reply = invocation.api->call(
        "GET", "/compute/v1/projects/" + invocation.project + "/aggregated/" + group.collection);
    if (!reply.ok()) return fail_api(invocation, reply);
    if (const auto* scopes = reply.body.as_object().if_contains("items"))
      for (const auto& scope : scopes->as_object())
        if (const auto* found = scope.value().as_object().if_contains(group.collection))
          for (const auto& item : found->as_array()) items.push_back(item);
  }
  if (print_list_without_table(invocation, items)) return 0;
  std::vector<std::vector<std::string>> rows{{"NAME"}};
  if (group.regional) rows.front().push_back("REGION");
  for (const auto& item : items) {
    rows.push_back({text(item, "name")});
    if (group.regional) rows.back().push_back(short_name(text(item, "region")));
  }
  print_table(rows);
  return 0;
}

int remove(const Invocation& invocation, const Group& group) {
  const auto region = region_of(invocation, group);
  if (!region) return 1;
  const bool neg = group.collection == "networkEndpointGroups";
  const std::string prompt =
      neg ? "You are about to delete network endpoint group: [" + invocation.name() + "]"
          : "The following " + group.singular + " will be deleted:\n - [" + invocation.name() +
                "]" + (region->empty() ? "" : " in [" + *region + "]");
  if (!confirm(invocation, prompt)) return fail(invocation, "Aborted by user.");
  const ApiReply reply = invocation.api->call(
      "DELETE", api_path(invocation.project, *region, group.collection, invocation.name()));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  if (neg) {
    std::cerr << "Deleted network endpoint group [" << invocation.name() << "].\n";
  } else {
    std::cerr << "Deleted ["
              << resource_url(invocation.project, *region, group.collection, invocation.name())
              << "].\n";
  }
  return 0;
}

bool read_text(const std::string& path, std::string& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream buffer;
  buffer << file.rdbuf();
  out = buffer.str();
  return true;
}

// ---- the create/update commands ----------------------------------------------------------

int networks_create(const Invocation& invocation) {
  const std::string mode = invocation.flag("subnet-mode", "auto");
  boost::json::object body{
      {"autoCreateSubnetworks", mode == "auto"},
      {"routingConfig",
       {{"routingMode",
         invocation.flag("bgp-routing-mode", "regional") == "global" ? "GLOBAL" : "REGIONAL"}}}};
  if (mode != "auto" && mode != "custom")
    return fail(invocation, "argument --subnet-mode: Invalid choice: '" + mode + "'.", 2);
  const int status = create(
      invocation, "", "networks", std::move(body),
      [&](const boost::json::value& network) {
        const auto* routing = network.as_object().if_contains("routingConfig");
        return std::vector<std::string>{text(network, "name"), mode == "auto" ? "AUTO" : "CUSTOM",
                                        routing ? text(*routing, "routingMode") : "", "", ""};
      },
      {"NAME", "SUBNET_MODE", "BGP_ROUTING_MODE", "IPV4_RANGE", "GATEWAY_IPV4"});
  if (status == 0) {
    std::cerr << "\nInstances on this network will not be reachable until firewall rules\n"
                 "are created.\n";
  }
  return status;
}

int subnets_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  boost::json::object body{
      {"network", reference(invocation.project, "", "networks", invocation.flag("network"))},
      {"ipCidrRange", invocation.flag("range")},
      {"region",
       std::string(kComputeRoot) + "projects/" + invocation.project + "/regions/" + *region}};
  if (invocation.has("purpose")) body["purpose"] = invocation.flag("purpose");
  if (invocation.has("role")) body["role"] = invocation.flag("role");
  return create(invocation, *region, "subnetworks", std::move(body),
                [](const boost::json::value& subnet) {
                  return std::vector<std::string>{
                      text(subnet, "name"), short_name(text(subnet, "region")),
                      short_name(text(subnet, "network")), text(subnet, "ipCidrRange"),
                      text(subnet, "stackType").empty() ? "IPV4_ONLY" : text(subnet, "stackType")};
                },
                {"NAME", "REGION", "NETWORK", "RANGE", "STACK_TYPE"});
}

int negs_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  std::string type = invocation.flag("network-endpoint-type", "gce-vm-ip-port");
  for (char& c : type) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  boost::json::object cloud_run;
  if (invocation.has("cloud-run-service"))
    cloud_run["service"] = invocation.flag("cloud-run-service");
  if (invocation.has("cloud-run-tag")) cloud_run["tag"] = invocation.flag("cloud-run-tag");
  if (invocation.has("cloud-run-url-mask"))
    cloud_run["urlMask"] = invocation.flag("cloud-run-url-mask");
  boost::json::object body{{"networkEndpointType", type}};
  if (!cloud_run.empty()) body["cloudRun"] = std::move(cloud_run);
  boost::json::object named = body;
  named["name"] = invocation.name();
  const ApiReply reply =
      invocation.api->call("POST", api_path(invocation.project, *region, "networkEndpointGroups"),
                           boost::json::value(named));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  std::cerr << "Created network endpoint group [" << invocation.name() << "].\n";
  return 0;
}

int backend_services_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  boost::json::object body{
      {"loadBalancingScheme", invocation.flag("load-balancing-scheme", "EXTERNAL")},
      {"protocol", invocation.flag("protocol", "HTTP")}};
  return create(
      invocation, *region, "backendServices", std::move(body),
      [](const boost::json::value& service) {
        std::string backends;
        if (const auto* list = service.as_object().if_contains("backends"))
          for (const auto& backend : list->as_array())
            backends += (backends.empty() ? "" : ",") + collection_and_name(text(backend, "group"));
        return std::vector<std::string>{text(service, "name"), backends, text(service, "protocol")};
      },
      {"NAME", "BACKENDS", "PROTOCOL"});
}

/// add-backend / remove-backend: read the backend service, edit `backends`, PUT it back.
int edit_backends(const Invocation& invocation, bool add) {
  const auto region = invocation.region();
  if (!region) return 1;
  const std::string neg_region = invocation.flag("network-endpoint-group-region", *region);
  const std::string neg = invocation.flag("network-endpoint-group");
  const std::string group = reference(invocation.project, neg_region, "networkEndpointGroups", neg);
  const ApiReply current = invocation.api->call(
      "GET", api_path(invocation.project, *region, "backendServices", invocation.name()));
  if (!current.ok()) return fail_api(invocation, current);
  boost::json::object service = current.body.as_object();
  boost::json::array backends;
  if (const auto* list = service.if_contains("backends")) backends = list->as_array();
  const auto same = [&](const boost::json::value& backend) {
    const std::string other =
        reference(invocation.project, neg_region, "networkEndpointGroups", text(backend, "group"));
    return other == group;
  };
  const auto found = std::find_if(backends.begin(), backends.end(), same);
  const std::string where = "Backend [" + short_name(group) + "] in region [" + neg_region + "]";
  if (add) {
    if (found != backends.end())
      return fail(invocation,
                  where + " already exists in backend service [" + invocation.name() + "]");
    backends.push_back(boost::json::object{{"group", group}});
  } else {
    if (found == backends.end())
      return fail(invocation,
                  where + " is not a backend of backend service [" + invocation.name() + "]");
    backends.erase(found);
  }
  service["backends"] = std::move(backends);
  return update(invocation, *region, "backendServices", "PUT", "", service);
}

int ssl_certificates_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  std::string certificate;
  std::string key;
  if (!read_text(invocation.flag("certificate"), certificate))
    return fail(invocation, "Unable to read file [" + invocation.flag("certificate") + "]");
  if (!read_text(invocation.flag("private-key"), key))
    return fail(invocation, "Unable to read file [" + invocation.flag("private-key") + "]");
  boost::json::object body{
      {"certificate", certificate}, {"privateKey", key}, {"type", "SELF_MANAGED"}};
  return create(invocation, *region, "sslCertificates", std::move(body),
                [](const boost::json::value& cert) {
                  return std::vector<std::string>{
                      text(cert, "name"),
                      text(cert, "type").empty() ? "SELF_MANAGED" : text(cert, "type"),
                      text(cert, "creationTimestamp"), text(cert, "expireTime"),
                      short_name(text(cert, "region"))};
                },
                {"NAME", "TYPE", "CREATION_TIMESTAMP", "EXPIRE_TIME", "REGION"});
}

/// The fields of a target proxy that create and update take from flags.
std::optional<int> proxy_fields(const Invocation& invocation, const std::string& region,
                                boost::json::object& body) {
  if (invocation.has("url-map"))
    body["urlMap"] = reference(invocation.project, region, "urlMaps", invocation.flag("url-map"));
  if (invocation.has("ssl-certificates")) {
    boost::json::array certificates;
    for (const auto& cert : invocation.flag_list("ssl-certificates"))
      certificates.push_back(
          boost::json::string(reference(invocation.project, region, "sslCertificates", cert)));
    body["sslCertificates"] = std::move(certificates);
  }
  if (invocation.has("server-tls-policy")) {
    // The policy's full resource name, as compute stores it; a bare NAME is in the proxy's
    // region.
    const std::string value = invocation.flag("server-tls-policy");
    std::string name = value;
    if (!value.starts_with("//")) {
      if (!value.starts_with("projects/"))
        name = "projects/" + invocation.project + "/locations/" + region + "/serverTlsPolicies/" +
               value;
      name = "//networksecurity.googleapis.com/" + name;
    }
    body["serverTlsPolicy"] = name;
  }
  if (invocation.has("http-keep-alive-timeout-sec")) {
    const std::string value = invocation.flag("http-keep-alive-timeout-sec");
    try {
      std::size_t used = 0;
      const long seconds = std::stol(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
      body["httpKeepAliveTimeoutSec"] = seconds;
    } catch (const std::exception&) {
      return fail(invocation,
                  "argument --http-keep-alive-timeout-sec: invalid integer value: '" + value + "'",
                  2);
    }
  }
  return std::nullopt;
}

int proxies_create(const Invocation& invocation, bool https) {
  const auto region = invocation.region();
  if (!region) return 1;
  boost::json::object body;
  if (auto failed = proxy_fields(invocation, *region, body)) return *failed;
  if (https) {
    return create(invocation, *region, "targetHttpsProxies", std::move(body),
                  [](const boost::json::value& proxy) {
                    std::string certs;
                    if (const auto* list = proxy.as_object().if_contains("sslCertificates"))
                      for (const auto& cert : list->as_array())
                        certs += (certs.empty() ? "" : ",") + short_name(cert.as_string());
                    return std::vector<std::string>{text(proxy, "name"), certs,
                                                    short_name(text(proxy, "urlMap"))};
                  },
                  {"NAME", "SSL_CERTIFICATES", "URL_MAP"});
  }
  return create(
      invocation, *region, "targetHttpProxies", std::move(body),
      [](const boost::json::value& proxy) {
        return std::vector<std::string>{text(proxy, "name"), short_name(text(proxy, "urlMap"))};
      },
      {"NAME", "URL_MAP"});
}

int proxies_update(const Invocation& invocation, bool https) {
  const auto region = invocation.region();
  if (!region) return 1;
  const std::string collection = https ? "targetHttpsProxies" : "targetHttpProxies";
  boost::json::object body;
  if (auto failed = proxy_fields(invocation, *region, body)) return *failed;
  if (invocation.has("clear-server-tls-policy")) {
    if (body.contains("serverTlsPolicy"))
      return fail(invocation,
                  "argument --clear-server-tls-policy: At most one of --clear-server-tls-policy | "
                  "--server-tls-policy may be specified.",
                  2);
    body["serverTlsPolicy"] = nullptr;
  }
  if (body.empty()) return fail(invocation, "At least one property must be modified.");
  // Like gcloud: the URL map and certificates through their set* methods, the rest by patch.
  std::vector<std::pair<std::string, boost::json::object>> calls;
  if (const auto* url_map = body.if_contains("urlMap"))
    calls.push_back({"/setUrlMap", {{"urlMap", *url_map}}});
  if (const auto* certs = body.if_contains("sslCertificates"))
    calls.push_back({"/setSslCertificates", {{"sslCertificates", *certs}}});
  boost::json::object patch;
  for (const char* field : {"httpKeepAliveTimeoutSec", "serverTlsPolicy"})
    if (const auto* value = body.if_contains(field)) patch[field] = *value;
  if (!patch.empty()) calls.push_back({"", std::move(patch)});
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& [suffix, change] = calls[i];
    const int status = update(invocation, *region, collection, suffix.empty() ? "PATCH" : "POST",
                              suffix, change, i + 1 == calls.size());
    if (status != 0) return status;
  }
  return 0;
}

int forwarding_rules_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  const std::string& project = invocation.project;
  boost::json::object body{
      {"loadBalancingScheme", invocation.flag("load-balancing-scheme", "EXTERNAL")},
      {"IPProtocol", invocation.flag("ip-protocol", "TCP")}};
  if (invocation.has("network"))
    body["network"] = reference(project, "", "networks", invocation.flag("network"));
  if (invocation.has("subnet"))
    body["subnetwork"] = reference(project, invocation.flag("subnet-region", *region),
                                   "subnetworks", invocation.flag("subnet"));
  if (invocation.has("address")) body["IPAddress"] = invocation.flag("address");
  int targets = 0;
  for (const auto& [flag, collection] :
       {std::pair<std::string, std::string>{"target-http-proxy", "targetHttpProxies"},
        {"target-https-proxy", "targetHttpsProxies"}}) {
    if (!invocation.has(flag)) continue;
    ++targets;
    body["target"] = reference(project, invocation.flag(flag + "-region", *region), collection,
                               invocation.flag(flag));
  }
  if (targets != 1)
    return fail(invocation,
                "Exactly one of (--target-http-proxy | --target-https-proxy) must be specified.",
                2);
  const std::vector<std::string> ports = invocation.flag_list("ports");
  if (ports.size() > 1)
    return fail(invocation, "[--ports] takes one port or one range for a target proxy rule.", 2);
  if (!ports.empty()) body["portRange"] = ports.front();
  return create(invocation, *region, "forwardingRules", std::move(body));
}

}  // namespace

void add_compute_commands(std::vector<CommandSpec>& commands) {
  const FlagSpec region{"region"};
  const FlagSpec description{"description"};
  commands.push_back({"compute networks create",
                      true,
                      {{"subnet-mode"}, {"bgp-routing-mode"}, description},
                      networks_create,
                      "create a VPC network"});
  commands.push_back({"compute networks subnets create",
                      true,
                      {{"network", false, true},
                       {"range", false, true},
                       region,
                       {"purpose"},
                       {"role"},
                       description},
                      subnets_create,
                      "create a subnet (or the proxy-only subnet)"});
  commands.push_back({"compute network-endpoint-groups create",
                      true,
                      {region,
                       {"network-endpoint-type"},
                       {"cloud-run-service"},
                       {"cloud-run-tag"},
                       {"cloud-run-url-mask"},
                       description},
                      negs_create,
                      "create a serverless NEG"});
  commands.push_back({"compute backend-services create",
                      true,
                      {{"load-balancing-scheme"}, {"protocol"}, region, description},
                      backend_services_create,
                      "create a regional backend service"});
  const std::vector<FlagSpec> backend_flags{
      {"network-endpoint-group", false, true}, {"network-endpoint-group-region"}, region};
  commands.push_back({"compute backend-services add-backend", true, backend_flags,
                      [](const Invocation& i) { return edit_backends(i, true); },
                      "attach a serverless NEG to a backend service"});
  commands.push_back({"compute backend-services remove-backend", true, backend_flags,
                      [](const Invocation& i) { return edit_backends(i, false); },
                      "detach a NEG from a backend service"});
  commands.push_back(
      {"compute ssl-certificates create",
       true,
       {{"certificate", false, true}, {"private-key", false, true}, region, description},
       ssl_certificates_create,
       "create a regional self-managed certificate"});
  const std::vector<FlagSpec> http_flags{
      {"url-map"}, region, {"http-keep-alive-timeout-sec"}, description};
  std::vector<FlagSpec> https_flags = http_flags;
  https_flags.push_back({"ssl-certificates"});
  https_flags.push_back({"server-tls-policy"});
  std::vector<FlagSpec> https_update_flags = https_flags;
  https_update_flags.push_back({"clear-server-tls-policy", true});
  commands.push_back({"compute target-http-proxies create", true, http_flags,
                      [](const Invocation& i) { return proxies_create(i, false); },
                      "create a target HTTP proxy"});
  commands.push_back({"compute target-http-proxies update", true, http_flags,
                      [](const Invocation& i) { return proxies_update(i, false); },
                      "change a target HTTP proxy's URL map or keepalive timeout"});
  commands.push_back({"compute target-https-proxies create", true, https_flags,
                      [](const Invocation& i) { return proxies_create(i, true); },
                      "create a target HTTPS proxy"});
  commands.push_back({"compute target-https-proxies update", true, https_update_flags,
                      [](const Invocation& i) { return proxies_update(i, true); },
                      "change a target HTTPS proxy's URL map, certificates, server TLS policy "
                      "(mutual TLS) or keepalive timeout"});
  commands.push_back({"compute forwarding-rules create",
                      true,
                      {{"load-balancing-scheme"},
                       {"network"},
                       {"subnet"},
                       {"subnet-region"},
                       {"target-http-proxy"},
                       {"target-http-proxy-region"},
                       {"target-https-proxy"},
                       {"target-https-proxy-region"},
                       region,
                       {"ports"},
                       {"address"},
                       {"ip-protocol"},
                       description},
                      forwarding_rules_create,
                      "create a forwarding rule (an albemu listener)"});
  for (const Group& group : groups()) {
    std::vector<FlagSpec> scoped;
    if (group.regional) scoped.push_back(region);
    const std::string prefix = "compute " + group.words;
    commands.push_back({prefix + " describe", true, scoped,
                        [&group](const Invocation& i) { return describe(i, group); },
                        "print a " + group.singular + " (--format=json|yaml)"});
    commands.push_back({prefix + " list",
                        false,
                        {{"regions"}, region},
                        [&group](const Invocation& i) { return list(i, group); },
                        "list " + group.singular + "s"});
    commands.push_back({prefix + " delete", true, scoped,
                        [&group](const Invocation& i) { return remove(i, group); },
                        "delete a " + group.singular});
  }
}

}  // namespace albemu::cli::gcloud
