// `albemu serve`: loads the config (or the embedded demo), binds a listener per forwarding rule,
// serves until SIGTERM/SIGINT, and reloads on file changes, SIGHUP and POST /reload.
//
// The main thread runs one io_context for signals, the config watcher and the admin endpoint;
// the data plane runs its own worker threads. Reloads therefore never race each other.

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <utility>

#include "proxy/admin/admin_server.h"
#include "proxy/api/api_server.h"
#include "proxy/api/api_state.h"
#include "proxy/api/compute_api.h"
#include "proxy/cli/commands.h"
#include "proxy/cli/config_watcher.h"
#include "proxy/cli/deferred_release.h"
#include "proxy/cli/h2c_standins.h"
#include "proxy/cli/options.h"
#include "proxy/core/snapshot.h"
#include "proxy/log/access_log.h"
#include "proxy/log/metrics.h"
#include "proxy/net/data_plane.h"

namespace albemu::cli {

namespace po = boost::program_options;

namespace {

constexpr std::chrono::seconds kDrainGrace{10};

using api::write_file_atomically;

/// The serving state, touched only on the main thread.
class Server {
 public:
  Server(std::vector<std::string> paths, net::DataPlane& data_plane, log::Metrics& metrics,
         boost::asio::io_context& io_context)
      : paths_(std::move(paths)),
        data_plane_(data_plane),
        metrics_(metrics),
        retired_(io_context, DeferredRelease::Delays{}) {
    retired_.on_change = [&metrics](std::size_t pending) {
      metrics.set_retained_generations(pending);
    };
  }

  /// The initial load; prints the errors and returns false if the config does not load.
  bool load_initial() {
    core::SnapshotResult result = load(1);
    if (!result.snapshot) {
      std::cerr << "albemu serve: the config does not load:\n"
                << config::format_errors(result.errors);
      return false;
    }
    current_ = std::move(result.snapshot);
    return true;
  }

  /// Binds the initial listeners; prints the rule and address of a bind failure.
  bool apply_initial() {
    const config::ConfigErrors errors = data_plane_.apply(current_);
    if (!errors.empty()) {
      std::cerr << "albemu serve: cannot bind listeners:\n" << config::format_errors(errors);
      return false;
    }
    metrics_.set_config_generation(current_->generation);
    h2c_standins_.keep_only(current_->config);
    return true;
  }

  /// Loads and builds generation+1 and applies it; keeps the old snapshot on any failure.
  /// Returns the error text (empty on success).
  std::string reload(std::string_view reason) {
    const uint64_t generation = current_->generation + 1;
    const auto started = Clock::now();
    core::SnapshotResult result = load(generation);
    const auto built = Clock::now();
    std::string error;
    if (!result.snapshot) {
      error = config::format_errors(result.errors);
    } else if (const auto bind_errors = data_plane_.apply(result.snapshot); !bind_errors.empty()) {
      error = config::format_errors(bind_errors);
    }
    const auto applied = Clock::now();
    metrics_.config_reload(error.empty());
    if (!error.empty()) {
      last_reload_error_ = error;
      std::cerr << "albemu serve: reload (" << reason << ") failed; generation "
                << current_->generation << " keeps serving:\n"
                << error << (error.ends_with('\n') ? "" : "\n");
      return error;
    }
    retired_.release(std::exchange(current_, std::move(result.snapshot)));
    h2c_standins_.keep_only(current_->config);
    last_reload_error_.clear();
    metrics_.set_config_generation(current_->generation);
    std::cerr << "albemu serve: reloaded (" << reason << "), generation " << current_->generation
              << " in " << milliseconds(applied - started) << " ms (load and build "
              << milliseconds(built - started) << " ms, handing it to the workers "
              << milliseconds(applied - built) << " ms)\n";
    if (on_reloaded) on_reloaded();
    return {};
  }

  std::shared_ptr<const core::ConfigSnapshot> snapshot() const { return current_; }
  const std::string& last_reload_error() const { return last_reload_error_; }

  std::function<void()> on_reloaded;  // after a successful reload (listeners may have moved)

 private:
  using Clock = std::chrono::steady_clock;
  static long long milliseconds(Clock::duration elapsed) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  }

  /// Loads the config, gives the useHttp2 services without a URL their h2c stand-ins, builds.
  core::SnapshotResult load(uint64_t generation) {
    config::LoadResult loaded = core::load_config_sources(paths_);
    if (loaded.ok()) h2c_standins_.provide(loaded.config);
    return core::build_snapshot(std::move(loaded), generation);
  }

  std::vector<std::string> paths_;
  net::DataPlane& data_plane_;
  log::Metrics& metrics_;
  std::shared_ptr<const core::ConfigSnapshot> current_;
  std::string last_reload_error_;
  H2cStandins h2c_standins_;
  DeferredRelease retired_;  // old snapshots, freed 100 ms after each reload
};

std::string ready_file_text(const std::map<std::string, std::string>& bound,
                            const std::string& admin, const std::string& api) {
  boost::json::object rules;
  for (const auto& [rule, address] : bound) rules[rule] = address;
  boost::json::object ready{{"forwardingRules", std::move(rules)}, {"admin", admin}};
  if (!api.empty()) ready["api"] = api;
  return boost::json::serialize(ready) + "\n";
}

/// The compute API's files: the state folder (--state-dir, or a private temporary folder)
/// and a private folder for candidate documents; the private one is removed at exit.
struct ApiFiles {
  std::string private_dir;
  std::string state_file;
  bool temporary_state = false;

  ~ApiFiles() {
    std::error_code ignored;
    if (!private_dir.empty()) std::filesystem::remove_all(private_dir, ignored);
  }
};

/// Removes the private folders of albemu processes that ended without cleaning up (killed):
/// their names carry the owner's pid, and a folder whose pid no longer runs is stale.
void remove_stale_api_folders(const std::filesystem::path& temp) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(temp, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    constexpr std::string_view kPrefix = "albemu-api-";
    if (!name.starts_with(kPrefix)) continue;
    const std::string rest = name.substr(kPrefix.size());
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9 ||
        rest.find_first_not_of("0123456789") != dash)
      continue;
    const pid_t owner = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;
    // Only a real folder of this user's (the temporary folder is shared).
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
        info.st_uid != ::getuid())
      continue;
    std::error_code ignored;
    std::filesystem::remove_all(it->path(), ignored);
  }
}

/// Creates the API's folders; false (and `error`) if one cannot be made.
bool prepare_api_files(const std::string& state_dir, ApiFiles& files, std::string& error) {
  const std::filesystem::path temp = std::filesystem::temp_directory_path();
  remove_stale_api_folders(temp);
  std::string pattern = (temp / ("albemu-api-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "cannot create a temporary folder for the API: " + std::string(std::strerror(errno));
    return false;
  }
  files.private_dir = pattern;
  std::string folder = state_dir;
  if (folder.empty()) {
    folder = files.private_dir;
    files.temporary_state = true;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      error = "cannot create --state-dir " + folder + ": " + ec.message();
      return false;
    }
  }
  files.state_file = (std::filesystem::path(folder) / "api-state.yaml").string();
  return true;
}

/// Startup banner: listeners and, for the embedded demo, commands that show URL-mask routing.
void print_banner(const std::map<std::string, std::string>& bound, const std::string& admin,
                  bool demo, const std::string& api, const ApiFiles& api_files) {
  std::cout << "albemu serving\n";
  for (const auto& [rule, address] : bound)
    std::cout << "  forwarding rule " << rule << " on " << address << "\n";
  std::cout << "  admin on http://" << admin
            << " (console at /; /healthz /ready /metrics /stats /config /route POST /reload)\n";
  if (!api.empty()) {
    std::cout << "  compute v1 API on http://" << api << "/compute/v1/projects/PROJECT/... (state "
              << api_files.state_file
              << (api_files.temporary_state ? ", a temporary folder removed at exit; keep it with "
                                              "--state-dir"
                                            : "")
              << ")\n";
  }
  if (demo && !bound.empty()) {
    const std::string& address = bound.begin()->second;
    std::cout << "\nembedded demo config: try\n"
              << "  curl http://" << address
              << "/login/web              # URL mask /<service> -> login\n"
              << "  curl http://" << address
              << "/cart/items?id=7        # URL mask /<service> -> cart\n"
              << "  curl -H 'Host: catalog.example.com' http://" << address
              << "/anything   # URL mask <service>.example.com -> catalog\n"
              << "  albemu route --url 'http://" << address
              << "/login/web'   # why it went there\n";
  }
  std::cout << std::flush;
}

std::string environment_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

/// Whether an "ip:port" / "[ip]:port" address is a loopback address.
bool is_loopback(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host, ec);
  return !ec && ip.is_loopback();
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  po::options_description options("albemu serve options");
  options.add_options()("help,h", "show this help")(
      "config,c", po::value<std::vector<std::string>>()->composing(),
      "config file or directory (repeatable; without any: the embedded demo config)")(
      "admin", po::value<std::string>()->default_value("127.0.0.1:9901"),
      "admin endpoint HOST:PORT (port 0: any free port)")(
      "admin-token", po::value<std::string>(),
      "require `Authorization: Bearer TOKEN` on POST /reload (default: $ALBEMU_ADMIN_TOKEN; "
      "empty: no token)")("workers", po::value<unsigned>(),
                          "worker threads (default: hardware threads)")(
      "access-log", po::value<std::string>(), "access log file, or - for stdout (default: none)")(
      "log-sample-seed", po::value<uint64_t>(),
      "seed the access log's logConfig.sampleRate draws (worker i uses N+i), for "
      "reproducible sampling (default: random)")(
      "ephemeral-ports", "bind every forwarding rule to a free port instead of its portRange")(
      "listen-address", po::value<std::string>(),
      "bind every forwarding rule on this address instead of its IPAddress (e.g. 0.0.0.0 in a "
      "container whose address the config does not know)")(
      "ready-file", po::value<std::string>(),
      "once every listener is bound, write "
      "{\"forwardingRules\":{name:\"ip:port\"},\"admin\":\"ip:port\",\"api\":\"ip:port\"} here")(
      "api", po::value<std::string>()->default_value("127.0.0.1:8085"),
      "Compute Engine v1 REST API HOST:PORT (port 0: any free port; with --ephemeral-ports "
      "and no --api: port 0; off: no API)")(
      "api-token", po::value<std::string>(),
      "require `Authorization: Bearer TOKEN` on every API call (default: $ALBEMU_API_TOKEN; "
      "empty: any token or none)")(
      "state-dir", po::value<std::string>(),
      "keep the API's resources in DIR/api-state.yaml across restarts (default: a temporary "
      "folder removed at exit)");
  po::variables_map vm;
  // `albemu serve config.yaml` as `albemu validate config.yaml`: a bare path is a config.
  po::positional_options_description positional;
  positional.add("config", -1);
  if (const auto exit_code = parse_options(
          "serve",
          "albemu serve [-c PATH]... [--admin HOST:PORT] [--admin-token TOKEN] [--workers N] "
          "[--access-log PATH|-] [--log-sample-seed N] "
          "[--ephemeral-ports] [--listen-address HOST] [--ready-file PATH] "
          "[--api HOST:PORT|off] [--api-token TOKEN] [--state-dir DIR] [PATH]...",
          options, args, vm, &positional))
    return *exit_code;
  const auto paths = vm.count("config") != 0 ? vm["config"].as<std::vector<std::string>>()
                                             : std::vector<std::string>{};
  unsigned workers =
      vm.count("workers") != 0 ? vm["workers"].as<unsigned>() : std::thread::hardware_concurrency();
  if (workers == 0) workers = 1;

  // SIGHUP/SIGTERM/SIGINT must not kill the process before the signal_set owns them.
  boost::asio::io_context io_context(1);
  boost::asio::signal_set stop_signals(io_context, SIGINT, SIGTERM);
  boost::asio::signal_set reload_signals(io_context, SIGHUP);

  std::unique_ptr<log::AccessLog> access_log;
  if (vm.count("access-log") != 0) {
    std::string error;
    access_log = log::AccessLog::open(vm["access-log"].as<std::string>(), error);
    if (!access_log) {
      std::cerr << "albemu serve: " << error << "\n";
      return 1;
    }
  }
  log::Metrics metrics(workers);
  net::DataPlaneOptions plane_options;
  plane_options.workers = workers;
  plane_options.ephemeral_ports = vm.count("ephemeral-ports") != 0;
  if (vm.count("listen-address") != 0)
    plane_options.listen_address = vm["listen-address"].as<std::string>();
  plane_options.access_log = access_log.get();
  if (vm.count("log-sample-seed") != 0) {
    plane_options.log_sample_seed = vm["log-sample-seed"].as<uint64_t>();
  }
  plane_options.metrics = &metrics;
  net::DataPlane data_plane(plane_options);

  // The API's resources are one more config source, reloaded like any file change.
  std::string api_address = vm["api"].as<std::string>();
  if (vm["api"].defaulted() && plane_options.ephemeral_ports) api_address = "127.0.0.1:0";
  const bool api_enabled = api_address != "off";
  ApiFiles api_files;
  std::vector<std::string> config_paths = paths;
  std::string demo_copy;
  if (api_enabled) {
    std::string error;
    if (!prepare_api_files(vm.count("state-dir") != 0 ? vm["state-dir"].as<std::string>() : "",
                           api_files, error)) {
      std::cerr << "albemu serve: " << error << "\n";
      return 1;
    }
    if (config_paths.empty()) {
      // The demo serves, as a file beside the API's document, until the API holds a resource.
      demo_copy = api_files.private_dir + "/embedded-demo.yaml";
      config_paths.push_back(demo_copy);
    }
  }
  std::vector<std::string> server_paths = config_paths;
  if (api_enabled) server_paths.push_back(api_files.state_file);
  Server server(api_enabled ? server_paths : paths, data_plane, metrics, io_context);

  std::unique_ptr<api::ComputeApi> compute_api;
  if (api_enabled) {
    api::ApiHooks api_hooks;
    api_hooks.snapshot = [&server] { return server.snapshot(); };
    api_hooks.reload = [&server] { return server.reload("compute API"); };
    compute_api = std::make_unique<api::ComputeApi>(
        api::ApiOptions{config_paths, api_files.state_file, api_files.private_dir, demo_copy},
        std::move(api_hooks));
    std::string error;
    if (!compute_api->load_state(error)) {
      std::cerr << "albemu serve: " << error << "\n";
      return 1;
    }
  }

  // Nothing is bound before the config loads.
  if (!server.load_initial()) return 1;
  data_plane.start();
  if (!server.apply_initial()) {
    data_plane.drain_and_stop(std::chrono::milliseconds(0));
    return 1;
  }

  admin::AdminHooks hooks;
  hooks.snapshot = [&server] { return server.snapshot(); };
  hooks.last_reload_error = [&server] { return server.last_reload_error(); };
  hooks.metrics_text = [&metrics] { return metrics.render_prometheus(); };
  hooks.metrics_totals = [&metrics] { return metrics.totals(); };
  hooks.listeners = [&data_plane] { return data_plane.bound_addresses(); };
  hooks.reload = [&server] { return server.reload("POST /reload"); };
  const std::string admin_token = vm.count("admin-token") != 0
                                      ? vm["admin-token"].as<std::string>()
                                      : environment_or_empty("ALBEMU_ADMIN_TOKEN");
  admin::AdminServer admin_server(io_context, std::move(hooks), admin_token);
  const std::string admin_address = vm["admin"].as<std::string>();
  if (const auto ec = admin_server.start(admin_address)) {
    std::cerr << "albemu serve: cannot listen on admin address " << admin_address << ": "
              << ec.message() << "\n";
    data_plane.drain_and_stop(std::chrono::milliseconds(0));
    return 1;
  }
  if (admin_token.empty() && !is_loopback(admin_server.address())) {
    std::cerr << "albemu serve: the admin endpoint " << admin_server.address()
              << " is reachable beyond loopback and POST /reload takes no token; set "
                 "--admin-token or ALBEMU_ADMIN_TOKEN to require one\n";
  }

  std::unique_ptr<api::ApiServer> api_server;
  if (compute_api) {
    const std::string api_token = vm.count("api-token") != 0
                                      ? vm["api-token"].as<std::string>()
                                      : environment_or_empty("ALBEMU_API_TOKEN");
    api_server = std::make_unique<api::ApiServer>(io_context, *compute_api, api_token);
    if (const auto ec = api_server->start(api_address)) {
      std::cerr << "albemu serve: cannot listen on API address " << api_address << ": "
                << ec.message() << "\n";
      if (!vm["api"].defaulted()) {
        data_plane.drain_and_stop(std::chrono::milliseconds(0));
        return 1;
      }
      // Only the default address: another albemu may hold it; serve on without the API.
      std::cerr << "albemu serve: serving without the compute API (pass --api HOST:PORT)\n";
      api_server.reset();
    }
    if (api_server && api_token.empty() && !is_loopback(api_server->address())) {
      std::cerr << "albemu serve: the compute API " << api_server->address()
                << " is reachable beyond loopback and takes no token; set --api-token or "
                   "ALBEMU_API_TOKEN to require one\n";
    }
  }
  const std::string api_bound = api_server ? api_server->address() : "";

  const std::string ready_file =
      vm.count("ready-file") != 0 ? vm["ready-file"].as<std::string>() : "";
  // Watching starts before the ready file says "ready": a file changed right after that must
  // not fall between the two.
  std::unique_ptr<ConfigWatcher> watcher;
  if (!paths.empty()) {
    watcher = std::make_unique<ConfigWatcher>(io_context, paths, ConfigWatcher::Delays{},
                                              [&server] { server.reload("config changed"); });
    // serve rewrites the ready file after every reload; if it sits in a watched directory,
    // its own writes must not trigger the next reload.
    if (!ready_file.empty()) watcher->ignore(ready_file);
    if (const auto ec = watcher->start()) {
      // Reloads still work through SIGHUP and POST /reload.
      std::cerr << "albemu serve: not watching the config files: " << ec.message() << "\n";
      watcher.reset();
    }
  }

  const auto write_ready_file = [&] {
    if (ready_file.empty()) return true;
    std::string error;
    if (!write_file_atomically(
            ready_file,
            ready_file_text(data_plane.bound_addresses(), admin_server.address(), api_bound),
            error)) {
      std::cerr << "albemu serve: " << error << "\n";
      return false;
    }
    return true;
  };
  if (!write_ready_file()) {
    data_plane.drain_and_stop(std::chrono::milliseconds(0));
    return 1;
  }
  server.on_reloaded = [&] { write_ready_file(); };
  print_banner(data_plane.bound_addresses(), admin_server.address(), paths.empty(), api_bound,
               api_files);

  std::function<void()> wait_for_sighup = [&] {
    reload_signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      server.reload("SIGHUP");
      wait_for_sighup();
    });
  };
  wait_for_sighup();
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    std::cerr << "albemu serve: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << ", draining\n";
    admin_server.stop();
    if (api_server) api_server->stop();
    if (watcher) watcher->stop();
    reload_signals.cancel();
    io_context.stop();
  });

  io_context.run();
  data_plane.drain_and_stop(kDrainGrace);
  if (!ready_file.empty()) {
    std::error_code ignored;
    std::filesystem::remove(ready_file, ignored);
  }
  return 0;
}

}  // namespace albemu::cli
