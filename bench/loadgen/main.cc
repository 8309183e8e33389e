// albemu_loadgen: the load generator of bench/e2e, for what wrk cannot do.
//
//   albemu_loadgen rate --target 127.0.0.1:8080 --rate 20000 --connections 64 --duration 10
//       open loop: requests at a fixed rate, latency from each request's scheduled send time;
//       prints one JSON object with p50/p90/p99/p99.9 (microseconds).
//   albemu_loadgen idle --target 127.0.0.1:8080 --connections 100000 --sources 5
//       opens the connections, one request each, prints a JSON line, holds them until SIGTERM
//       or SIGINT, then prints how many the server still kept open; --protocol https holds
//       HTTP/1.1 over TLS, --protocol h2 HTTP/2 over TLS (the preface and SETTINGS, no request).
//
// Requests spread over --services Cloud Run services (s0000, s0001, ...), by path
// (/s0007/bench) or with --routing host by Host (s0007.example.com).

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "bench/loadgen/idle_hold.h"
#include "bench/loadgen/open_loop.h"
#include "bench/loadgen/requests.h"

namespace {

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace albemu::loadgen;

struct CommonOptions {
  asio::ip::tcp::endpoint target;
  std::string authority;  // the Host of path-mode requests
  std::vector<std::string> requests;
};

bool parse_target(const std::string& text, asio::ip::tcp::endpoint& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  boost::system::error_code ec;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  try {
    const int port = std::stoi(text.substr(colon + 1));
    if (port <= 0 || port > 65535) return false;
    out = asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

/// Nearest-rank percentile of sorted values.
uint64_t percentile(const std::vector<uint64_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double micros(uint64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1000.0; }

int run_rate(const CommonOptions& common, int connections, double rate, double duration,
             double warmup, double drain) {
  if (rate * duration < 1) {
    std::cerr << "albemu_loadgen: --rate times --duration schedules no request\n";
    return 2;
  }
  asio::io_context io_context(1);
  OpenLoopOptions options;
  options.target = common.target;
  options.requests = common.requests;
  options.connections = connections;
  options.rate = rate;
  options.duration = std::chrono::nanoseconds(static_cast<int64_t>(duration * 1e9));
  options.warmup = std::chrono::nanoseconds(static_cast<int64_t>(warmup * 1e9));
  options.drain = std::chrono::nanoseconds(static_cast<int64_t>(drain * 1e9));
  OpenLoop run(io_context, std::move(options));
  run.start();
  io_context.run();

  OpenLoopResult& result = run.result();
  std::vector<uint64_t>& latencies = result.latencies_ns;
  std::sort(latencies.begin(), latencies.end());
  double sum = 0;
  for (const uint64_t latency : latencies) sum += static_cast<double>(latency);
  const double mean = latencies.empty() ? 0 : sum / static_cast<double>(latencies.size());
  std::printf(
      "{\"mode\":\"rate\",\"rate\":%.1f,\"connections\":%d,\"duration_s\":%.3f,"
      "\"scheduled\":%llu,\"completed\":%llu,\"recorded\":%zu,\"achieved_rps\":%.1f,"
      "\"errors\":%llu,\"non_2xx\":%llu,\"unfinished\":%llu,"
      "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
      "\"mean\":%.1f}}\n",
      rate, connections, result.measured_seconds, static_cast<unsigned long long>(result.scheduled),
      static_cast<unsigned long long>(result.completed), latencies.size(),
      static_cast<double>(latencies.size()) / result.measured_seconds,
      static_cast<unsigned long long>(result.errors),
      static_cast<unsigned long long>(result.non_2xx),
      static_cast<unsigned long long>(result.unfinished), micros(percentile(latencies, 0.50)),
      micros(percentile(latencies, 0.90)), micros(percentile(latencies, 0.99)),
      micros(percentile(latencies, 0.999)), micros(latencies.empty() ? 0 : latencies.back()),
      mean / 1000.0);
  std::fflush(stdout);
  return result.completed == 0 ? 1 : 0;
}

int run_idle(const CommonOptions& common, int connections, int concurrency, int sources,
             IdleProtocol protocol) {
  asio::io_context io_context(1);
  IdleHoldOptions options;
  options.target = common.target;
  options.requests = common.requests;
  options.connections = connections;
  options.concurrency = std::max(1, concurrency);
  options.sources = std::max(1, sources);
  options.protocol = protocol;
  IdleHold hold(io_context, std::move(options));
  asio::signal_set signals(io_context, SIGINT, SIGTERM);
  const auto started = std::chrono::steady_clock::now();
  hold.start([&] {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const IdleHoldCounts& counts = hold.counts();
    std::printf(
        "{\"mode\":\"idle\",\"event\":\"holding\",\"connections\":%d,\"opened\":%llu,"
        "\"errors\":%llu,\"non_2xx\":%llu,\"open_seconds\":%.3f}\n",
        connections, static_cast<unsigned long long>(counts.opened),
        static_cast<unsigned long long>(counts.errors),
        static_cast<unsigned long long>(counts.non_2xx), seconds);
    std::fflush(stdout);
    signals.async_wait([&](boost::system::error_code, int) {
      std::printf("{\"mode\":\"idle\",\"event\":\"released\",\"still_open\":%llu}\n",
                  static_cast<unsigned long long>(hold.count_still_open()));
      std::fflush(stdout);
      hold.close_all();
    });
  });
  io_context.run();
  return hold.counts().opened == static_cast<uint64_t>(connections) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, target, routing = "path", domain = "example.com", host, protocol = "http";
  int services = 1000, connections = 64, concurrency = 64, sources = 1;
  double rate = 1000, duration = 10, warmup = 1, drain = 5;
  po::options_description described("albemu_loadgen rate|idle options");
  described.add_options()("help,h", "show this help")("target", po::value(&target)->required(),
                                                      "HOST:PORT to connect to")(
      "routing", po::value(&routing), "path (/<service>/bench) or host (<service>.DOMAIN)")(
      "services", po::value(&services), "Cloud Run services to spread over (s0000...)")(
      "domain", po::value(&domain), "host-mode domain (default example.com)")(
      "host", po::value(&host), "path-mode Host header (default: the target)")(
      "connections", po::value(&connections), "keepalive connections")(
      "rate", po::value(&rate), "rate: requests per second")("duration", po::value(&duration),
                                                             "rate: recorded seconds")(
      "warmup", po::value(&warmup), "rate: seconds scheduled first and not recorded")(
      "drain", po::value(&drain), "rate: seconds to wait for late answers")(
      "concurrency", po::value(&concurrency), "idle: connections opened at once")(
      "sources", po::value(&sources),
      "idle: spread the connections over this many source addresses, 127.0.0.1 upwards (one "
      "address has about 28,000 ephemeral ports)")(
      "protocol", po::value(&protocol),
      "idle: http (default), https (HTTP/1.1 over TLS) or h2 (HTTP/2 over TLS)");
  po::options_description hidden;
  hidden.add_options()("mode", po::value(&mode)->required());
  po::options_description all;
  all.add(described).add(hidden);
  po::positional_options_description positional;
  positional.add("mode", 1);
  try {
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
              values);
    if (values.count("help")) {
      std::cout << "usage: albemu_loadgen rate|idle --target HOST:PORT [options]\n" << described;
      return 0;
    }
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << "albemu_loadgen: " << error.what() << "\n";
    return 2;
  }
  CommonOptions common;
  if (!parse_target(target, common.target)) {
    std::cerr << "albemu_loadgen: --target must be IP:PORT, got '" << target << "'\n";
    return 2;
  }
  if ((routing != "path" && routing != "host") || services < 1 || connections < 1 || rate <= 0) {
    std::cerr << "albemu_loadgen: bad --routing, --services, --connections or --rate\n";
    return 2;
  }
  common.authority = host.empty() ? target : host;
  common.requests = make_requests(routing == "host" ? RoutingMode::host : RoutingMode::path,
                                  services, common.authority, domain);
  if (mode == "rate") return run_rate(common, connections, rate, duration, warmup, drain);
  if (mode == "idle") {
    IdleProtocol idle_protocol = IdleProtocol::http;
    if (protocol == "https") {
      idle_protocol = IdleProtocol::https;
    } else if (protocol == "h2") {
      idle_protocol = IdleProtocol::h2;
    } else if (protocol != "http") {
      std::cerr << "albemu_loadgen: --protocol must be http, https or h2\n";
      return 2;
    }
    return run_idle(common, connections, concurrency, sources, idle_protocol);
  }
  std::cerr << "albemu_loadgen: mode must be rate or idle\n";
  return 2;
}
