#include "tests/integration/support/proxy_harness.h"

#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/load/loader.h"
#include "proxy/core/snapshot.h"

namespace albemu::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  return "/tmp/albemu-it-" + std::to_string(::getpid()) + "-" + stem + "-" +
         std::to_string(counter++);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  std::array<char, 65536> buffer;
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

CurlResult run_curl(const std::vector<std::string>& args) {
  const std::string body_path = temp_path("body");
  std::string command = "curl -sS --max-time 60 -D - -o " + body_path + " -w 'STATUS:%{http_code}'";
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " 2>/dev/null";
  CurlResult result;
  std::string out = run_command(command, &result.exit_code);
  auto marker = out.rfind("STATUS:");
  if (marker != std::string::npos) {
    result.status = std::atoi(out.c_str() + marker + 7);
    result.headers = out.substr(0, marker);
  }
  result.body = read_file(body_path);
  std::remove(body_path.c_str());
  return result;
}

std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds deadline, bool* closed) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(socket, asio::buffer(bytes));
  std::string out;
  std::array<char, 4096> buffer;
  bool peer_closed = false;
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buffer), [&](boost::system::error_code ec, std::size_t n) {
      out.append(buffer.data(), n);
      if (ec) {
        peer_closed = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  io.run_for(deadline);
  if (closed) *closed = peer_closed;
  return out;
}

namespace {
net::ClientTimeouts with_header_timeout(std::chrono::milliseconds header_timeout) {
  net::ClientTimeouts timeouts;
  timeouts.request_header = header_timeout;
  return timeouts;
}
}  // namespace

ProxyHarness::ProxyHarness(unsigned workers, std::chrono::milliseconds header_timeout)
    : ProxyHarness(workers, with_header_timeout(header_timeout)) {}

ProxyHarness::ProxyHarness(unsigned workers, net::ClientTimeouts timeouts,
                           std::optional<uint64_t> log_sample_seed)
    : log_path_(temp_path("access-log")), metrics_(std::make_unique<log::Metrics>(workers)) {
  std::string error;
  access_log_ = log::AccessLog::open(log_path_, error);
  net::DataPlaneOptions options;
  options.workers = workers;
  options.ephemeral_ports = true;
  options.access_log = access_log_.get();
  options.metrics = metrics_.get();
  options.timeouts = timeouts;
  options.log_sample_seed = log_sample_seed;
  data_plane_ = std::make_unique<net::DataPlane>(options);
  data_plane_->start();
}

ProxyHarness::~ProxyHarness() {
  data_plane_->drain_and_stop(std::chrono::milliseconds(0));
  data_plane_.reset();
  access_log_.reset();
  std::remove(log_path_.c_str());
}

std::string ProxyHarness::apply_yaml(const std::string& yaml) {
  auto loaded = config::load_config_text(yaml, "test.yaml");
  if (!loaded.ok()) return config::format_errors(loaded.errors);
  auto built = core::build_snapshot(loaded, ++generation_);
  if (!built.errors.empty()) return config::format_errors(built.errors);
  auto errors = data_plane_->apply(built.snapshot);
  return config::format_errors(errors);
}

uint16_t ProxyHarness::port(const std::string& forwarding_rule) const {
  auto addresses = data_plane_->bound_addresses();
  auto it = addresses.find(forwarding_rule);
  if (it == addresses.end()) return 0;
  return static_cast<uint16_t>(std::stoi(it->second.substr(it->second.rfind(':') + 1)));
}

std::string ProxyHarness::url(const std::string& forwarding_rule, const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port(forwarding_rule)) + path;
}

std::vector<std::string> ProxyHarness::log_lines() const {
  std::vector<std::string> lines;
  std::string text = read_file(log_path_);
  // Only whole lines: the log is written through a stdio buffer, which may have passed on
  // part of the last line so far.
  const auto end = text.rfind('\n');
  text.resize(end == std::string::npos ? 0 : end + 1);
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> ProxyHarness::wait_for_log_lines(std::size_t count) const {
  std::vector<std::string> lines;
  poll_until(
      [&] {
        lines = log_lines();
        return lines.size() >= count;
      },
      std::chrono::seconds(5));
  return lines;
}

std::string basic_config(const std::string& body_yaml) {
  return R"(
project: it-project
region: us-central1
targetHttpProxies:
  - name: http-proxy
    urlMap: test-map
forwardingRules:
  - name: http-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "80"
    target: regions/us-central1/targetHttpProxies/http-proxy
)" + body_yaml;
}

int status_of(const std::string& bytes) {
  if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12) return 0;
  return std::atoi(bytes.c_str() + 9);
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string single_service_yaml(const std::string& url) {
  return R"(
cloudRunServices:
  - name: app
)" + (url.empty() ? std::string() : "    url: " + url + "\n") +
         R"(networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    logConfig: {enable: true}
    backends:
      - group: app-neg
urlMaps:
  - name: test-map
    defaultService: app-bs
)";
}

}  // namespace albemu::testing
