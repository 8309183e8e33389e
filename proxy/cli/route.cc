// `albemu route`: loads a config and prints, as JSON, what the load balancer would do with
// one request (core::explain_route). Exit status: 0 whenever the config loads, whatever the
// decision; 1 if the config does not load (errors on stderr); 2 on bad arguments, an
// unparsable URL or an unknown --forwarding-rule.

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <iostream>

#include "proxy/cli/commands.h"
#include "proxy/cli/json_print.h"
#include "proxy/cli/options.h"
#include "proxy/core/explain.h"
#include "proxy/core/snapshot.h"

namespace albemu::cli {

namespace po = boost::program_options;

int run_route(const std::vector<std::string>& args) {
  po::options_description options("albemu route options");
  options.add_options()("help,h", "show this help")(
      "config,c", po::value<std::vector<std::string>>()->composing(),
      "config file or directory (repeatable; without any: the embedded demo config)")(
      "url", po::value<std::string>(),
      "absolute request URL, e.g. http://127.0.0.1:8080/login/web")(
      "request,X", po::value<std::string>()->default_value("GET"), "request method")(
      "header,H", po::value<std::vector<std::string>>()->composing(),
      "request header 'Name: value' (repeatable; 'Host: x' overrides the URL's host)")(
      "forwarding-rule", po::value<std::string>(),
      "forwarding rule to route through (default: the one whose port and scheme match the URL)")(
      "compact", "print the JSON on one line");
  po::variables_map vm;
  if (const auto exit_code =
          parse_options("route",
                        "albemu route -c PATH... --url URL [-X METHOD] [-H 'Name: value']... "
                        "[--forwarding-rule NAME]",
                        options, args, vm))
    return *exit_code;
  if (vm.count("url") == 0) {
    std::cerr << "albemu route: --url is required\n";
    return 2;
  }

  core::ExplainRequest request;
  request.url = vm["url"].as<std::string>();
  request.method = vm["request"].as<std::string>();
  if (vm.count("forwarding-rule") != 0)
    request.forwarding_rule = vm["forwarding-rule"].as<std::string>();
  if (vm.count("header") != 0) {
    for (const std::string& header : vm["header"].as<std::vector<std::string>>()) {
      const std::size_t colon = header.find(':');
      if (colon == std::string::npos || colon == 0) {
        std::cerr << "albemu route: header must be 'Name: value': " << header << "\n";
        return 2;
      }
      std::string value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      request.headers.emplace_back(header.substr(0, colon), std::move(value));
    }
  }

  const auto paths = vm.count("config") != 0 ? vm["config"].as<std::vector<std::string>>()
                                             : std::vector<std::string>{};
  const core::SnapshotResult result = core::load_snapshot(paths, 1);
  if (!result.snapshot) {
    std::cerr << "albemu route: the config does not load:\n"
              << config::format_errors(result.errors);
    if (!result.errors.empty() && !config::format_errors(result.errors).ends_with('\n'))
      std::cerr << "\n";
    return 1;
  }

  const boost::json::object explanation = core::explain_route(*result.snapshot, request);
  std::cout << (vm.count("compact") != 0 ? boost::json::serialize(explanation)
                                         : pretty_json(explanation))
            << "\n";
  // A request the explanation could not even start on (bad URL, unknown rule) is a usage error.
  const bool usage_error =
      explanation.at("error").is_string() && explanation.at("status").is_null();
  return usage_error ? 2 : 0;
}

}  // namespace albemu::cli
