#pragma once
// `albemu gcloud`: the gcloud command lines of Google's regional internal Application Load
// Balancer guide (and its mutual TLS guide), applied to a running `albemu serve` through its
// compute v1, certificatemanager v1 and networksecurity v1 REST APIs. This
// header is shared by gcloud*.cc only: the command table, the parsed invocation, the API
// client and gcloud's output conventions.

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::cli::gcloud {

/// One answer of the REST API. status 0: no answer (transport_error says why).
struct ApiReply {
  unsigned status = 0;
  boost::json::value body;
  std::string transport_error;
  bool ok() const { return status >= 200 && status < 300; }
};

/// A blocking JSON client of the compute API at an http:// endpoint.
class ApiClient {
 public:
  ApiClient(std::string endpoint, std::string token)
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}
  /// `target` is the request path ("/compute/v1/..."); `body` null sends no body.
  ApiReply call(std::string_view method, const std::string& target,
                const boost::json::value& body = nullptr) const;
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  std::string token_;
};

/// A command line after parsing: the command, its positional arguments and its flags.
struct Invocation {
  std::string command;  // "compute.backend-services.create": gcloud's error prefix
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> flags;  // without the leading "--"
  std::string project;
  bool quiet = false;
  std::string format;  // --format, empty for the default
  const ApiClient* api = nullptr;

  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  /// The flag's last value, or `fallback`.
  std::string flag(const std::string& flag, const std::string& fallback = "") const;
  /// Every value of a repeatable flag, comma lists split.
  std::vector<std::string> flag_list(const std::string& flag) const;
  /// The NAME positional (the parser guarantees it where the command declares one).
  const std::string& name() const { return positionals.front(); }
  /// --region, else CLOUDSDK_COMPUTE_REGION; nullopt after printing gcloud's error.
  std::optional<std::string> region() const;
};

/// A flag a command accepts: `switch_flag` takes no value.
struct FlagSpec {
  std::string name;
  bool switch_flag = false;
  bool required = false;
};

/// One leaf command: its words ("compute url-maps create"), whether it takes NAME, its flags
/// and what runs it.
struct CommandSpec {
  std::string words;
  bool takes_name = true;
  std::vector<FlagSpec> flags;
  std::function<int(const Invocation&)> run;
  std::string summary;
};

void add_compute_commands(std::vector<CommandSpec>& commands);
void add_url_map_and_run_commands(std::vector<CommandSpec>& commands);
/// certificate-manager trust-configs and network-security server-tls-policies.
void add_location_commands(std::vector<CommandSpec>& commands);

// ---- compute URLs --------------------------------------------------------------------------

inline constexpr std::string_view kComputeRoot = "https://www.googleapis.com/compute/v1/";

/// "projects/P/regions/R/COLLECTION[/NAME]" ("global" when region is empty).
std::string partial_path(const std::string& project, const std::string& region,
                         const std::string& collection, const std::string& name = "");
/// The full resource URL gcloud prints and sends.
std::string resource_url(const std::string& project, const std::string& region,
                         const std::string& collection, const std::string& name = "");
/// The API request path of a resource or collection.
std::string api_path(const std::string& project, const std::string& region,
                     const std::string& collection, const std::string& name = "");
/// A flag's resource reference as a full URL: URLs and partial paths stay, a bare NAME
/// becomes NAME's URL in `region` (global when empty).
std::string reference(const std::string& project, const std::string& region,
                      const std::string& collection, const std::string& value);
/// The last path segment of a reference ("backendServices/x" style short forms for tables).
std::string short_name(std::string_view url);
/// "COLLECTION/NAME" of a reference, as gcloud's tables show it.
std::string collection_and_name(std::string_view url);

// ---- output and errors ---------------------------------------------------------------------

/// Prints `ERROR: (gcloud.COMMAND) MESSAGE` on stderr and returns `exit_code`.
int fail(const Invocation& invocation, const std::string& message, int exit_code = 1);
/// gcloud's message for an API error answer ("Could not fetch resource:\n - ..."); returns 1.
int fail_api(const Invocation& invocation, const ApiReply& reply);
/// Runs a write whose answer is an Operation; waits for it if it is not DONE yet. nullopt on
/// success, else the exit code after printing the error.
std::optional<int> run_operation(const Invocation& invocation, const ApiReply& reply);
/// gcloud's table: upper-case header row first, columns two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows);
/// Prints a resource as --format asks (yaml by default, or json).
void print_resource(const Invocation& invocation, const boost::json::value& resource);
/// The part of a `list` that needs no table: with --format, prints the items; without items,
/// says so. True if done, false if the caller prints its table.
bool print_list_without_table(const Invocation& invocation, const boost::json::array& items);
/// The string field of an object, or "".
std::string text(const boost::json::value& object, std::string_view field);

/// JSON -> YAML text (keys sorted, as gcloud prints), and YAML text -> JSON.
std::string to_yaml(const boost::json::value& value);
std::optional<boost::json::value> from_yaml(const std::string& text, std::string& error);

}  // namespace albemu::cli::gcloud
