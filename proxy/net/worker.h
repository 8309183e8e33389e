#pragma once
// One worker thread: its io_context, the config generation it serves, its upstream pool, its
// random numbers and the sessions it owns. Everything here is touched only from the worker's
// own thread, except the atomics and what the main thread does before start / after join.

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "proxy/core/snapshot.h"
#include "proxy/net/deadline_queue.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"
#include "proxy/net/upstream_pool.h"

namespace albemu::log {
class AccessLog;
class Metrics;
}  // namespace albemu::log

namespace albemu::net {

/// Bodies are relayed in pieces of at most this size; the next piece is read only after the
/// previous one was written (backpressure both ways).
inline constexpr std::size_t kBodyChunkSize = 64 * 1024;

class ServerTls;
class UpstreamTls;
class Listener;
class Request;
class RequestStream;

/// The client-side timeouts every connection of a worker keeps (spec section 7).
struct ClientTimeouts {
  /// A client that started a request must finish its head within this time (else 408).
  std::chrono::milliseconds request_header{std::chrono::seconds(60)};
  /// A TLS client must finish its handshake within this time, else the connection closes.
  std::chrono::milliseconds tls_handshake{std::chrono::seconds(10)};
};

/// What a worker serves from: a snapshot and the TLS contexts of its HTTPS listeners. Posted
/// by the main thread as one immutable object, swapped by the worker, pinned per request.
struct Generation {
  std::shared_ptr<const core::ConfigSnapshot> snapshot;
  std::map<std::string, std::shared_ptr<ServerTls>, std::less<>> tls;  // by forwarding rule
  /// TLS client contexts for https:// services, by resolved `caCertificateFile` ("" for the
  /// system trust store alone); see upstream_tls.h.
  std::map<std::string, std::shared_ptr<UpstreamTls>, std::less<>> upstream_tls;  // by CA file
  /// forwarding rule -> the IP actually bound (the load balancer IP in X-Forwarded-For).
  std::map<std::string, std::string, std::less<>> bound_ips;
};

/// A live downstream connection, linked into its worker so drain/stop can reach it.
class SessionBase : public boost::intrusive::list_base_hook<
                        boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~SessionBase() = default;
  /// Worker thread. Draining: close now if idle, else after the current response.
  virtual void on_drain() = 0;
  /// Worker thread. Closes the connection immediately.
  virtual void force_close() = 0;
  /// Worker thread, when the worker took a new generation: drop what the connection cached of
  /// the old one, so that an idle connection does not keep it (a request in flight pins its
  /// own).
  virtual void forget_generation() {}
  /// The forwarding rule the connection came in on.
  virtual std::string_view forwarding_rule() const = 0;
};

class Worker {
 public:
  using SteadyTimer =
      boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                        boost::asio::wait_traits<std::chrono::steady_clock>,
                                        boost::asio::io_context::executor_type>;

  /// `log_sample_seed` set: the access log's sampling draws are seeded with it plus the
  /// worker's index (reproducible tests); unset: from std::random_device.
  Worker(unsigned index, log::AccessLog* access_log, log::Metrics* metrics, ClientTimeouts timeouts,
         std::optional<uint64_t> log_sample_seed = std::nullopt);
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  /// Main thread, after everything was posted: lets the loop end and joins it.
  void join();

  boost::asio::io_context& io_context() { return *io_context_; }
  unsigned index() const { return index_; }

  // ---- worker thread only
  const std::shared_ptr<const Generation>& generation() const { return generation_; }
  void set_generation(std::shared_ptr<const Generation> generation) {
    generation_ = std::move(generation);
    // Keys are endpoint lists of older snapshots: drop them so they do not pile up.
    round_robin_.clear();
    for (auto& session : sessions_) session.forget_generation();
  }
  UpstreamPool& pool() { return *pool_; }
  /// How exchanges reach backends: HTTP/1.1 over pool(), unless a test put another in.
  UpstreamConnector& upstreams() { return *upstreams_; }
  void set_upstreams(std::unique_ptr<UpstreamConnector> upstreams) {
    upstreams_ = std::move(upstreams);
  }
  /// Body relay buffers (kBodyChunkSize bytes), lent to a connection while it relays a body
  /// and given back when it goes idle: an idle keepalive connection holds none.
  std::unique_ptr<char[]> take_chunk();
  void give_back_chunk(std::unique_ptr<char[]> chunk);
  /// Message head storage, lent to a connection for a request as the chunks are.
  std::unique_ptr<MessageHeads> take_heads();
  void give_back_heads(std::unique_ptr<MessageHeads> heads);
  /// Requests, lent to an HTTP/1 connection from a request's head to its log line and
  /// attached to `stream`: an idle keepalive connection holds none. Given back inactive.
  std::unique_ptr<Request> take_request(RequestStream& stream);
  void give_back_request(std::unique_ptr<Request> request);
  /// Serialization buffers, lent to a backend request as the chunks are.
  std::unique_ptr<WireBuffers> take_wire();
  void give_back_wire(std::unique_ptr<WireBuffers> wire);
  /// Timers, lent to a request for its deadlines as the chunks are: making one looks its
  /// service up under the io_context's lock. Given back cancelled.
  std::unique_ptr<SteadyTimer> take_timer();
  void give_back_timer(std::unique_ptr<SteadyTimer> timer);
  /// The deadlines of the worker's client connections (their reads and writes).
  DeadlineQueue& deadlines() { return *deadlines_; }
  std::mt19937& rng() { return rng_; }
  /// Uniform in [0, 1): the draw a logConfig.sampleRate is compared with. Its own generator,
  /// so that seeding it leaves routing draws alone.
  double draw_log_sample() { return std::uniform_real_distribution<double>(0.0, 1.0)(log_rng_); }
  uint32_t next_round_robin(const void* endpoints) { return round_robin_[endpoints]++; }
  void add_session(SessionBase& session) { sessions_.push_back(session); }
  bool draining() const { return draining_; }
  /// Stops accepting on this worker and asks every session to close once idle.
  void begin_drain();
  /// Drains the sessions of one forwarding rule (its listener was closed or replaced), as
  /// begin_drain() does for all: HTTP/2 gets GOAWAY, HTTP/1 closes after its response.
  void drain_rule(std::string_view rule);
  /// Closes every session and pooled connection.
  void close_everything();
  std::map<std::string, std::shared_ptr<Listener>, std::less<>>& listeners() { return listeners_; }

  log::AccessLog* access_log() const { return access_log_; }
  log::Metrics* metrics() const { return metrics_; }
  const ClientTimeouts& timeouts() const { return timeouts_; }

  // ---- any thread
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> requests_in_flight{0};

 private:
  using SessionList =
      boost::intrusive::list<SessionBase, boost::intrusive::constant_time_size<false>>;

  unsigned index_;
  log::AccessLog* access_log_;
  log::Metrics* metrics_;
  ClientTimeouts timeouts_;
  std::unique_ptr<boost::asio::io_context> io_context_;
  std::unique_ptr<DeadlineQueue> deadlines_;  // its timer goes before the io_context
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<const Generation> generation_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<UpstreamConnector> upstreams_;
  std::mt19937 rng_;
  std::mt19937_64 log_rng_;
  std::unordered_map<const void*, uint32_t> round_robin_;
  std::vector<std::unique_ptr<char[]>> spare_chunks_;
  std::vector<std::unique_ptr<MessageHeads>> spare_heads_;
  std::vector<std::unique_ptr<Request>> spare_requests_;
  std::vector<std::unique_ptr<WireBuffers>> spare_wires_;
  std::vector<std::unique_ptr<SteadyTimer>> spare_timers_;
  std::map<std::string, std::shared_ptr<Listener>, std::less<>> listeners_;
  SessionList sessions_;
  bool draining_ = false;
  bool tearing_down_ = false;  // the io_context is being destroyed
};

}  // namespace albemu::net
