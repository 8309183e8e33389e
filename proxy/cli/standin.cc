// `albemu standin`: a Cloud Run stand-in process, configured like Cloud Run (PORT, K_SERVICE,
// K_REVISION) with flags that win over the environment. `--http2` makes it a service deployed
// with --use-http2: h2c with prior knowledge only, and a gRPC echo service.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "proxy/cli/commands.h"
#include "proxy/cli/options.h"
#include "proxy/standin/standin_server.h"

namespace albemu::cli {

namespace po = boost::program_options;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

}  // namespace

int run_standin(const std::vector<std::string>& args) {
  po::options_description options("albemu standin options");
  options.add_options()("help,h", "show this help")(
      "port,p", po::value<unsigned>(),
      "port to listen on (default $PORT, else 8080; 0 picks a free port)")(
      "host", po::value<std::string>()->default_value("0.0.0.0"), "address to listen on")(
      "service", po::value<std::string>(), "service name (default $K_SERVICE, else \"standin\")")(
      "revision", po::value<std::string>(),
      "revision name (default $K_REVISION, else SERVICE-00001-standin)")(
      "tag", po::value<std::string>()->default_value(""), "revision tag reported in answers")(
      "http2",
      "speak only h2c (HTTP/2 with prior knowledge), as a service deployed with --use-http2; "
      "gRPC calls are echoed message by message");
  po::variables_map vm;
  if (const auto exit_code = parse_options(
          "standin",
          "albemu standin [--port P] [--host H] [--service NAME] [--revision R] [--tag T] "
          "[--http2]",
          options, args, vm))
    return *exit_code;

  standin::StandinOptions standin_options;
  standin_options.host = vm["host"].as<std::string>();
  standin_options.http2 = vm.count("http2") != 0;
  unsigned port = 8080;
  if (vm.count("port") != 0) {
    port = vm["port"].as<unsigned>();
  } else if (const std::string text = env_or("PORT", ""); !text.empty()) {
    char* end = nullptr;
    port = static_cast<unsigned>(std::strtoul(text.c_str(), &end, 10));
    if (end == nullptr || *end != '\0') {
      std::cerr << "albemu standin: PORT is not a number: " << text << "\n";
      return 2;
    }
  }
  if (port > 65535) {
    std::cerr << "albemu standin: port out of range: " << port << "\n";
    return 2;
  }
  standin_options.port = static_cast<std::uint16_t>(port);
  auto& identity = standin_options.identity;
  identity.service =
      vm.count("service") != 0 ? vm["service"].as<std::string>() : env_or("K_SERVICE", "standin");
  identity.revision = vm.count("revision") != 0
                          ? vm["revision"].as<std::string>()
                          : env_or("K_REVISION", identity.service + "-00001-standin");
  identity.tag = vm["tag"].as<std::string>();

  boost::asio::io_context io_context(1);
  standin::StandinServer server(io_context, standin_options);
  if (const auto ec = server.start()) {
    std::cerr << "albemu standin: cannot listen on " << standin_options.host << ":" << port << ": "
              << ec.message() << "\n";
    return 1;
  }
  std::cout << "albemu standin: service " << identity.service << " revision " << identity.revision
            << (identity.tag.empty() ? "" : " tag " + identity.tag) << " listening on "
            << server.address() << (standin_options.http2 ? " (h2c)" : "") << std::endl;

  boost::asio::signal_set signals(io_context, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io_context.stop();
  });
  io_context.run();
  return 0;
}

}  // namespace albemu::cli
