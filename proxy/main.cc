// albemu: a local emulator of GCP's regional internal Application Load Balancer.

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/cli/commands.h"

namespace {

constexpr std::string_view kUsage =
    "usage: albemu <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve    [-c PATH]... [--admin HOST:PORT] [--workers N] [--access-log PATH|-]\n"
    "           [--ephemeral-ports] [--listen-address HOST] [--ready-file PATH]\n"
    "           serve the config (the embedded demo config without -c)\n"
    "  validate -c PATH... [--format text|json]\n"
    "           load, validate and run every URL map's tests\n"
    "  route    -c PATH... --url URL [-X METHOD] [-H 'Name: value']... [--forwarding-rule NAME]\n"
    "           print the routing decision for one request as JSON\n"
    "  standin  [--port P] [--host H] [--service NAME] [--revision R] [--tag T]\n"
    "           a Cloud Run stand-in (reads PORT, K_SERVICE, K_REVISION)\n"
    "  healthcheck [--url URL] [--timeout-ms N]\n"
    "           exit 0 if GET URL (default the admin /healthz) answers 2xx\n"
    "  gcloud   compute ... | run deploy ... [--api-endpoint URL]\n"
    "           gcloud's load balancer commands against a running serve's API\n"
    "  --version, -V\n"
    "           the release and the build's options\n"
    "\n"
    "`albemu <command> --help` lists a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage.data(), stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  // The commands report their own errors; this only turns an unexpected exception (out of
  // memory, a library failure at startup) into a message and a failing exit status.
  try {
    if (command == "serve") return albemu::cli::run_serve(args);
    if (command == "validate") return albemu::cli::run_validate(args);
    if (command == "route") return albemu::cli::run_route(args);
    if (command == "standin") return albemu::cli::run_standin(args);
    if (command == "healthcheck") return albemu::cli::run_healthcheck(args);
    if (command == "gcloud") return albemu::cli::run_gcloud(args);
    if (command == "--version" || command == "-V") return albemu::cli::run_version();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "albemu %s: %s\n", argv[1], error.what());
    return 1;
  }
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  std::fprintf(stderr, "albemu: unknown command '%s'\n\n", argv[1]);
  std::fputs(kUsage.data(), stderr);
  return 2;
}
