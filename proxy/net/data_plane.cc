#include "proxy/net/data_plane.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/net/listener.h"
#include "proxy/net/tls_context.h"
#include "proxy/net/upstream_tls.h"
#include "proxy/net/worker.h"

namespace albemu::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

/// A forwarding rule as bound: what decides whether a reload must rebind it.
struct BoundRule {
  std::string ip_address;
  uint16_t requested_port = 0;
  bool https = false;
  tcp::endpoint endpoint;                            // actually bound
  std::vector<std::shared_ptr<Listener>> listeners;  // one per worker
};

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return text + ":" + std::to_string(endpoint.port());
}

/// Runs `fn` on every worker's thread and waits until all of them ran it.
template <class Fn>
void run_on_workers(std::vector<std::unique_ptr<Worker>>& workers, Fn fn) {
  std::latch done(static_cast<std::ptrdiff_t>(workers.size()));
  for (auto& worker : workers) {
    asio::post(worker->io_context(), [&fn, &done, w = worker.get()] {
      fn(*w);
      done.count_down();
    });
  }
  done.wait();
}

}  // namespace

class DataPlaneImpl {
 public:
  explicit DataPlaneImpl(DataPlaneOptions options) : options_(std::move(options)) {
    const unsigned n = options_.workers == 0 ? 1 : options_.workers;
    for (unsigned i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, options_.access_log, options_.metrics,
                                                  options_.timeouts, options_.log_sample_seed));
    }
  }

  ~DataPlaneImpl() {
    if (started_ && !stopped_) drain_and_stop(std::chrono::milliseconds(0));
  }

  void start() {
    if (started_) return;
    started_ = true;
    for (auto& worker : workers_) worker->start();
  }

  config::ConfigErrors apply(const std::shared_ptr<const core::ConfigSnapshot>& snapshot) {
    config::ConfigErrors errors;
    start();  // no-op once started; the workers must run to take the snapshot
    if (!snapshot) {
      errors.push_back({"", "", "no config snapshot to apply"});
      return errors;
    }
    auto generation = std::make_shared<Generation>();
    generation->snapshot = snapshot;
    for (const auto& plan : snapshot->listeners) {
      if (!plan.https) continue;
      auto tls = ServerTls::create(plan, errors);
      if (tls) generation->tls.emplace(plan.forwarding_rule, std::move(tls));
    }
    generation->upstream_tls = build_upstream_tls(snapshot->config, errors);
    if (!errors.empty()) return errors;

    // Bind every new or changed rule first, so a failure leaves everything as it was.
    std::map<std::string, BoundRule, std::less<>> next;
    std::map<std::string, BoundRule, std::less<>> fresh;
    for (const auto& plan : snapshot->listeners) {
      auto old = bound_.find(plan.forwarding_rule);
      if (old != bound_.end() && old->second.ip_address == plan.ip_address &&
          old->second.https == plan.https &&
          (options_.ephemeral_ports || old->second.requested_port == plan.port)) {
        next.emplace(plan.forwarding_rule, old->second);
        continue;
      }
      BoundRule rule;
      if (!bind_rule(plan, rule, errors)) break;
      next.emplace(plan.forwarding_rule, rule);
      fresh.emplace(plan.forwarding_rule, std::move(rule));
    }
    if (!errors.empty()) {
      for (auto& [name, rule] : fresh)
        for (auto& listener : rule.listeners) listener->close();
      return errors;
    }
    for (const auto& [name, rule] : next)
      generation->bound_ips.emplace(name, rule.endpoint.address().to_string());

    // Rules that disappeared or are replaced by a fresh binding.
    std::vector<std::string> closing;
    for (const auto& [name, rule] : bound_) {
      if (!next.contains(name) || fresh.contains(name)) closing.push_back(name);
    }

    std::shared_ptr<const Generation> shared = std::move(generation);
    run_on_workers(workers_, [&](Worker& worker) {
      worker.set_generation(shared);
      auto& listeners = worker.listeners();
      for (const auto& name : closing) {
        if (auto it = listeners.find(name); it != listeners.end()) {
          it->second->close();
          listeners.erase(it);
        }
        // Its connections finish what they carry and end, as Envoy drains a replaced
        // listener's: HTTP/2 clients get GOAWAY and reconnect to what the rule is now.
        worker.drain_rule(name);
      }
      if (worker.draining()) return;
      for (auto& [name, rule] : fresh) {
        auto& listener = rule.listeners[worker.index()];
        listeners[name] = listener;
        listener->start();
      }
    });

    std::lock_guard lock(mutex_);
    bound_ = std::move(next);
    return errors;
  }

  std::map<std::string, std::string> bound_addresses() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::string> out;
    for (const auto& [name, rule] : bound_) out.emplace(name, format_endpoint(rule.endpoint));
    return out;
  }

  void drain_and_stop(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
    run_on_workers(workers_, [](Worker& worker) { worker.begin_drain(); });
    {
      std::lock_guard lock(mutex_);
      bound_.clear();
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (requests_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    run_on_workers(workers_, [](Worker& worker) { worker.close_everything(); });
    // Closed sockets complete their handlers with errors; give them a moment, then stop.
    const auto close_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (active_connections() > 0 && std::chrono::steady_clock::now() < close_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto& worker : workers_) worker->io_context().stop();
    for (auto& worker : workers_) worker->join();
  }

  std::size_t active_connections() const {
    std::size_t n = 0;
    for (const auto& worker : workers_) n += worker->connections.load(std::memory_order_relaxed);
    return n;
  }

 private:
  std::size_t requests_in_flight() const {
    std::size_t n = 0;
    for (const auto& worker : workers_)
      n += worker->requests_in_flight.load(std::memory_order_relaxed);
    return n;
  }

  bool bind_rule(const core::ListenerPlan& plan, BoundRule& rule, config::ConfigErrors& errors) {
    const std::string field = "forwardingRules[" + plan.forwarding_rule + "]";
    boost::system::error_code ec;
    const std::string& configured =
        options_.listen_address.empty() ? plan.ip_address : options_.listen_address;
    const auto address =
        asio::ip::make_address(configured.empty() ? std::string("0.0.0.0") : configured, ec);
    if (ec) {
      errors.push_back({"", field, "cannot bind: bad IPAddress '" + configured + "'"});
      return false;
    }
    rule.ip_address = plan.ip_address;
    rule.requested_port = plan.port;
    rule.https = plan.https;
    tcp::endpoint endpoint(address, options_.ephemeral_ports ? 0 : plan.port);
    for (auto& worker : workers_) {
      auto listener = Listener::bind(*worker, plan.forwarding_rule, plan.https, endpoint, ec);
      if (!listener) {
        errors.push_back(
            {"", field, "cannot bind " + format_endpoint(endpoint) + ": " + ec.message()});
        for (auto& bound : rule.listeners) bound->close();
        return false;
      }
      // The first worker's socket fixes the port the others share.
      endpoint = listener->local_endpoint();
      rule.listeners.push_back(std::move(listener));
    }
    rule.endpoint = endpoint;
    return true;
  }

  DataPlaneOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mutex_;  // guards bound_ against readers on other threads
  std::map<std::string, BoundRule, std::less<>> bound_;
  bool started_ = false;
  bool stopped_ = false;
};

DataPlane::DataPlane(DataPlaneOptions options)
    : impl_(std::make_unique<DataPlaneImpl>(std::move(options))) {}
DataPlane::~DataPlane() = default;
void DataPlane::start() { impl_->start(); }
config::ConfigErrors DataPlane::apply(const std::shared_ptr<const core::ConfigSnapshot>& snapshot) {
  return impl_->apply(snapshot);
}
std::map<std::string, std::string> DataPlane::bound_addresses() const {
  return impl_->bound_addresses();
}
void DataPlane::drain_and_stop(std::chrono::milliseconds grace) { impl_->drain_and_stop(grace); }
std::size_t DataPlane::active_connections() const { return impl_->active_connections(); }

}  // namespace albemu::net
