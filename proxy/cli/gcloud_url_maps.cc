// `albemu gcloud compute url-maps create|import|export|validate` and `albemu gcloud run
// deploy`. URL maps travel as YAML the way `gcloud compute url-maps export` writes them; a
// deployed Cloud Run service becomes a service entry of albemu's API (a local URL given by
// --albemu-url, else the built-in stand-in).

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "proxy/cli/gcloud.h"

namespace albemu::cli::gcloud {

namespace {

/// Fields compute sets itself: export leaves them out, import ignores them.
constexpr std::string_view kOutputOnly[] = {"kind", "id", "creationTimestamp", "selfLink",
                                            "region"};

std::optional<std::string> read_source(const Invocation& invocation) {
  std::ostringstream buffer;
  if (!invocation.has("source") || invocation.flag("source") == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream file(invocation.flag("source"), std::ios::binary);
  if (!file) {
    fail(invocation, "Unable to read file [" + invocation.flag("source") + "]");
    return std::nullopt;
  }
  buffer << file.rdbuf();
  return buffer.str();
}

/// The URL map of --source as a JSON object; nullopt after printing the error.
std::optional<boost::json::object> read_url_map(const Invocation& invocation) {
  const auto text = read_source(invocation);
  if (!text) return std::nullopt;
  std::string error;
  const auto parsed = from_yaml(*text, error);
  if (!parsed || !parsed->is_object()) {
    fail(invocation, "Invalid YAML in [" + invocation.flag("source", "-") +
                         "]: " + (error.empty() ? "expected a mapping" : error));
    return std::nullopt;
  }
  boost::json::object url_map = parsed->as_object();
  for (const auto field : kOutputOnly) url_map.erase(field);
  return url_map;
}

int url_maps_create(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  boost::json::object body{
      {"name", invocation.name()},
      {"defaultService", reference(invocation.project, *region, "backendServices",
                                   invocation.flag("default-service"))}};
  if (invocation.has("description")) body["description"] = invocation.flag("description");
  const ApiReply reply = invocation.api->call(
      "POST", api_path(invocation.project, *region, "urlMaps"), boost::json::value(body));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  std::cerr << "Created ["
            << resource_url(invocation.project, *region, "urlMaps", invocation.name()) << "].\n";
  const ApiReply created = invocation.api->call(
      "GET", api_path(invocation.project, *region, "urlMaps", invocation.name()));
  if (!created.ok()) return fail_api(invocation, created);
  print_table({{"NAME", "DEFAULT_SERVICE"},
               {invocation.name(), collection_and_name(text(created.body, "defaultService"))}});
  return 0;
}

int url_maps_import(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  auto url_map = read_url_map(invocation);
  if (!url_map) return 1;
  (*url_map)["name"] = invocation.name();
  const std::string path = api_path(invocation.project, *region, "urlMaps", invocation.name());
  const std::string url = resource_url(invocation.project, *region, "urlMaps", invocation.name());
  const ApiReply current = invocation.api->call("GET", path);
  if (current.status == 404) {
    const ApiReply reply = invocation.api->call(
        "POST", api_path(invocation.project, *region, "urlMaps"), boost::json::value(*url_map));
    if (auto failed = run_operation(invocation, reply)) return *failed;
    std::cerr << "Created [" << url << "].\n";
    return 0;
  }
  if (!current.ok()) return fail_api(invocation, current);
  if (!invocation.quiet)
    std::cerr << "Url Map [" << invocation.name() << "] will be overwritten.\n\n";
  // An exported file carries the fingerprint it was read with; a hand-written one gets the
  // current one, as gcloud's import does.
  if (!url_map->contains("fingerprint"))
    (*url_map)["fingerprint"] = text(current.body, "fingerprint");
  const ApiReply reply = invocation.api->call("PUT", path, boost::json::value(*url_map));
  if (auto failed = run_operation(invocation, reply)) return *failed;
  std::cerr << "Updated [" << url << "].\n";
  return 0;
}

int url_maps_export(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  const ApiReply reply = invocation.api->call(
      "GET", api_path(invocation.project, *region, "urlMaps", invocation.name()));
  if (!reply.ok()) return fail_api(invocation, reply);
  boost::json::object url_map = reply.body.as_object();
  for (const auto field : kOutputOnly) url_map.erase(field);
  const std::string yaml = to_yaml(url_map);
  if (!invocation.has("destination") || invocation.flag("destination") == "-") {
    std::cout << yaml;
    return 0;
  }
  std::ofstream file(invocation.flag("destination"), std::ios::binary | std::ios::trunc);
  if (!(file << yaml))
    return fail(invocation, "Unable to write file [" + invocation.flag("destination") + "]");
  std::cerr << "Exported ["
            << resource_url(invocation.project, *region, "urlMaps", invocation.name()) << "] to '"
            << invocation.flag("destination") << "'.\n";
  return 0;
}

int url_maps_validate(const Invocation& invocation) {
  const auto region = invocation.region();
  if (!region) return 1;
  auto url_map = read_url_map(invocation);
  if (!url_map) return 1;
  const std::string name = text(*url_map, "name");
  if (name.empty())
    return fail(invocation, "The URL map in [" + invocation.flag("source") + "] has no name.");
  const ApiReply reply = invocation.api->call(
      "POST", api_path(invocation.project, *region, "urlMaps", name) + "/validate",
      boost::json::object{{"resource", *url_map}});
  if (!reply.ok()) return fail_api(invocation, reply);
  boost::json::value result = reply.body;
  if (!result.as_object().contains("result")) result = boost::json::object{{"result", result}};
  print_resource(invocation, result);
  return 0;
}

int run_deploy(const Invocation& invocation) {
  const std::string platform = invocation.flag("platform", "managed");
  if (platform != "managed")
    return fail(invocation, "albemu emulates Cloud Run (fully managed) only: --platform=managed",
                2);
  const std::string region = invocation.flag("region", [] {
    const char* value = std::getenv("CLOUDSDK_RUN_REGION");
    if (value == nullptr) value = std::getenv("CLOUDSDK_COMPUTE_REGION");
    return value != nullptr ? std::string(value) : std::string();
  }());
  if (region.empty()) return fail(invocation, "Missing required argument [--region].", 1);
  boost::json::object body{{"name", invocation.name()}};
  if (invocation.has("ingress")) body["ingress"] = invocation.flag("ingress");
  // End-to-end HTTP/2: the container is spoken to in h2c (Cloud Run names its port h2c).
  if (invocation.has("use-http2")) body["useHttp2"] = true;
  const std::vector<std::string> urls = invocation.flag_list("albemu-url");
  if (urls.size() == 1) body["url"] = urls.front();
  if (urls.size() > 1) {
    boost::json::array list;
    for (const auto& url : urls) list.push_back(boost::json::string(url));
    body["urls"] = list;
  }
  if (invocation.has("tag")) {
    if (urls.empty())
      return fail(invocation, "--tag needs --albemu-url: the URL the tag's revision answers on", 2);
    body["tags"] = boost::json::object{
        {invocation.flag("tag"), body.contains("url") ? body["url"] : body["urls"]}};
  }
  std::cerr << "Deploying container to Cloud Run service [" << invocation.name() << "] in project ["
            << invocation.project << "] region [" << region << "]\n";
  const ApiReply reply = invocation.api->call(
      "POST", "/albemu/v1/projects/" + invocation.project + "/locations/" + region + "/services",
      boost::json::value(body));
  if (!reply.ok()) {
    std::cerr << "X Deploying... Failed.\n";
    if (reply.status == 0) return fail(invocation, reply.transport_error);
    const auto* error = reply.body.as_object().if_contains("error");
    return fail(invocation, error != nullptr ? text(*error, "message")
                                             : "HTTP " + std::to_string(reply.status));
  }
  std::cerr << "OK Deploying... Done.\n"
               "  OK Routing traffic...\n";
  if (invocation.has("allow-unauthenticated")) std::cerr << "  OK Setting IAM Policy...\n";
  std::cerr << "Done.\n"
            << "Service [" << invocation.name()
            << "] has been deployed and is serving 100 percent of traffic.\n"
            << "Service URL: " << (urls.empty() ? "(albemu's built-in stand-in)" : urls.front())
            << "\n";
  return 0;
}

}  // namespace

void add_url_map_and_run_commands(std::vector<CommandSpec>& commands) {
  const FlagSpec region{"region"};
  commands.push_back({"compute url-maps create",
                      true,
                      {{"default-service", false, true}, region, {"description"}},
                      url_maps_create,
                      "create a regional URL map"});
  commands.push_back({"compute url-maps import",
                      true,
                      {{"source"}, region},
                      url_maps_import,
                      "create or replace a URL map from YAML (stdin without --source)"});
  commands.push_back({"compute url-maps export",
                      true,
                      {{"destination"}, region},
                      url_maps_export,
                      "write a URL map as YAML (stdout without --destination)"});
  commands.push_back({"compute url-maps validate",
                      false,
                      {{"source", false, true}, region},
                      url_maps_validate,
                      "load a URL map and run its tests without saving it"});
  commands.push_back({"run deploy",
                      true,
                      {{"platform"},
                       {"allow-unauthenticated", true},
                       {"no-allow-unauthenticated", true},
                       {"ingress"},
                       region,
                       {"image"},
                       {"port"},
                       {"tag"},
                       {"use-http2", true},
                       {"no-use-http2", true},
                       {"albemu-url"}},
                      run_deploy,
                      "register a Cloud Run service; --albemu-url URL[,URL] serves it from a "
                      "local URL, else the built-in stand-in answers; --use-http2 speaks h2c "
                      "to it"});
}

}  // namespace albemu::cli::gcloud
