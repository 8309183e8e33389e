#include "proxy/net/worker.h"

#include <boost/asio/post.hpp>
#include <cassert>
#include <cstdio>
#include <exception>

#include "proxy/net/http1_upstream.h"
#include "proxy/net/listener.h"
#include "proxy/net/request.h"

namespace albemu::net {

Worker::Worker(unsigned index, log::AccessLog* access_log, log::Metrics* metrics,
               ClientTimeouts timeouts, std::optional<uint64_t> log_sample_seed)
    : index_(index),
      access_log_(access_log),
      metrics_(metrics),
      timeouts_(timeouts),
      io_context_(std::make_unique<boost::asio::io_context>(1)),
      deadlines_(std::make_unique<DeadlineQueue>(*io_context_)),
      pool_(std::make_unique<UpstreamPool>(*io_context_)),
      upstreams_(std::make_unique<Http1Connector>(*this, *pool_)),
      rng_(std::random_device{}() + index),
      log_rng_(log_sample_seed ? *log_sample_seed + index : std::random_device{}() + index) {}

Worker::~Worker() {
  join();
  // Order matters: sockets and the pool go before the io_context, whose destruction then
  // destroys pending handlers and with them the sessions they keep alive (sessions unlink
  // themselves from sessions_, which is still alive).
  listeners_.clear();
  upstreams_.reset();
  pool_.reset();
  // Timers belong to the io_context's timer service: none is kept past it, including those
  // given back by requests its destruction ends (a spare request holds one too).
  tearing_down_ = true;
  spare_timers_.clear();
  spare_requests_.clear();
  deadlines_.reset();
  io_context_.reset();
}

void Worker::start() {
  work_.emplace(io_context_->get_executor());
  thread_ = std::thread([this] {
    // A handler that throws (a Beast length_error, say) must not take the process down: log
    // it and keep serving. run() returns normally only once the work guard is gone.
    for (;;) {
      try {
        io_context_->run();
        return;
      } catch (const std::exception& error) {
        std::fprintf(stderr, "albemu: worker %u: unexpected exception: %s\n", index_, error.what());
      } catch (...) {
        std::fprintf(stderr, "albemu: worker %u: unexpected exception\n", index_);
      }
    }
  });
}

void Worker::join() {
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void Worker::begin_drain() {
  draining_ = true;
  for (auto& [rule, listener] : listeners_) listener->close();
  listeners_.clear();
  // on_drain may close a session, which unlinks it: iterate over a snapshot of the list.
  std::vector<SessionBase*> sessions;
  for (auto& session : sessions_) sessions.push_back(&session);
  for (auto* session : sessions) session->on_drain();
}

void Worker::drain_rule(std::string_view rule) {
  std::vector<SessionBase*> sessions;
  for (auto& session : sessions_)
    if (session.forwarding_rule() == rule) sessions.push_back(&session);
  for (auto* session : sessions) session->on_drain();
}

void Worker::close_everything() {
  std::vector<SessionBase*> sessions;
  for (auto& session : sessions_) sessions.push_back(&session);
  for (auto* session : sessions) session->force_close();
  for (auto& [rule, listener] : listeners_) listener->close();
  listeners_.clear();
  upstreams_->close_idle();
}

/// Spare chunks kept beyond what the connections hold: enough for bursts, bounded memory.
constexpr std::size_t kMaxSpareChunks = 64;
/// Spare head storage kept, and the most of it kept per head: storage that grew beyond this
/// (an unusually large head) goes back to the allocator.
constexpr std::size_t kMaxSpareHeads = 64;
constexpr std::size_t kKeptHeadBytes = 16 * 1024;  // above a whole 4 KiB copy with its reserve

namespace {

/// The last spare of `spares`, or a new one from `make` when there is none.
template <class T, class Make>
std::unique_ptr<T> take_spare(std::vector<std::unique_ptr<T>>& spares, Make make) {
  if (spares.empty()) return make();
  auto spare = std::move(spares.back());
  spares.pop_back();
  return spare;
}

}  // namespace

std::unique_ptr<char[]> Worker::take_chunk() {
  return take_spare(spare_chunks_,
                    [] { return std::make_unique_for_overwrite<char[]>(kBodyChunkSize); });
}

void Worker::give_back_chunk(std::unique_ptr<char[]> chunk) {
  if (chunk && spare_chunks_.size() < kMaxSpareChunks) spare_chunks_.push_back(std::move(chunk));
}

std::unique_ptr<MessageHeads> Worker::take_heads() {
  return take_spare(spare_heads_, [] { return std::make_unique<MessageHeads>(); });
}

std::unique_ptr<WireBuffers> Worker::take_wire() {
  return take_spare(spare_wires_, [] { return std::make_unique<WireBuffers>(); });
}

void Worker::give_back_wire(std::unique_ptr<WireBuffers> wire) {
  // A head near the size limit leaves a large buffer behind: that one is not kept.
  if (!wire || spare_wires_.size() >= kMaxSpareHeads || wire->head.capacity() > kKeptHeadBytes)
    return;
  spare_wires_.push_back(std::move(wire));
}

std::unique_ptr<Worker::SteadyTimer> Worker::take_timer() {
  return take_spare(spare_timers_,
                    [this] { return std::make_unique<SteadyTimer>(io_context_->get_executor()); });
}

void Worker::give_back_timer(std::unique_ptr<SteadyTimer> timer) {
  if (!timer || tearing_down_) return;
  timer->cancel();  // a pending wait completes with operation_aborted, for its old owner
  if (spare_timers_.size() < kMaxSpareChunks) spare_timers_.push_back(std::move(timer));
}

std::unique_ptr<Request> Worker::take_request(RequestStream& stream) {
  auto request = take_spare(spare_requests_, [this] { return std::make_unique<Request>(*this); });
  request->attach(stream);
  return request;
}

void Worker::give_back_request(std::unique_ptr<Request> request) {
  if (!request || tearing_down_) return;
  assert(!request->active());
  if (spare_requests_.size() >= kMaxSpareHeads) {
    // A connection gives its request back from inside the request's own last steps (a write
    // that completed inline ends it, and the connection goes idle): it is destroyed only
    // after they returned.
    boost::asio::post(*io_context_, [surplus = std::move(request)] {});
    return;
  }
  // A spare may wait long to be lent again: it keeps neither an old generation (and its
  // snapshot) alive past a reload nor the last client's request data.
  request->context().reset();
  spare_requests_.push_back(std::move(request));
}

void Worker::give_back_heads(std::unique_ptr<MessageHeads> heads) {
  if (!heads || spare_heads_.size() >= kMaxSpareHeads) return;
  heads->request_parser.reset();
  // A head near the size limits leaves large buffers behind: those are not kept.
  heads->request.trim_capacity(kKeptHeadBytes);
  heads->response.trim_capacity(kKeptHeadBytes);
  spare_heads_.push_back(std::move(heads));
}

}  // namespace albemu::net
