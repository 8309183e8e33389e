// `albemu healthcheck`: GETs a URL (by default the admin /healthz) and exits 0 on a 2xx answer.
// Container images have no curl; this is what their HEALTHCHECK runs. `--http2` GETs in h2c
// with prior knowledge, for a stand-in started with --http2.

#include <boost/beast/http/string_body.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "proxy/cli/commands.h"
#include "proxy/cli/h2c_client.h"
#include "proxy/cli/http_client.h"
#include "proxy/cli/options.h"

namespace albemu::cli {

namespace po = boost::program_options;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kDefaultUrl = "http://127.0.0.1:9901/healthz";

}  // namespace

int run_healthcheck(const std::vector<std::string>& args) {
  po::options_description options("albemu healthcheck options");
  options.add_options()("help,h", "show this help")(
      "url", po::value<std::string>()->default_value(std::string(kDefaultUrl)),
      "http:// URL to GET; healthy means a 2xx answer")(
      "timeout-ms", po::value<unsigned>()->default_value(2000), "give up after this long")(
      "http2",
      "GET in h2c (HTTP/2 with prior knowledge), as a stand-in started with --http2 "
      "speaks it");
  po::variables_map vm;
  if (const auto exit_code =
          parse_options("healthcheck", "albemu healthcheck [--url URL] [--timeout-ms N] [--http2]",
                        options, args, vm))
    return *exit_code;
  const std::string url = vm["url"].as<std::string>();
  const auto parsed = parse_http_url(url);
  if (!parsed) {
    std::cerr << "albemu healthcheck: not an http:// URL: " << url << "\n";
    return 2;
  }

  const std::chrono::milliseconds timeout(vm["timeout-ms"].as<unsigned>());
  HttpCallResult result;
  if (vm.count("http2") != 0) {
    result = h2c_get(*parsed, timeout);
  } else {
    http::request<http::string_body> request(http::verb::get, parsed->path, 11);
    request.set(http::field::user_agent, "albemu-healthcheck");
    result = http_call(std::move(request), *parsed, timeout);
  }
  if (result.error) {
    std::cerr << "albemu healthcheck: " << url << ": " << result.error.message() << "\n";
    return 1;
  }
  const auto& response = result.response;
  const unsigned status = response.result_int();
  std::cout << url << ": " << status << "\n";
  return status >= 200 && status < 300 ? 0 : 1;
}

}  // namespace albemu::cli
