#pragma once
// An open-loop HTTP/1.1 load: requests are scheduled at a fixed rate whatever the server does,
// and each latency is measured from the request's scheduled send time, not from when a
// connection became free to send it. A server that stalls therefore shows its stall in every
// request that was due meanwhile (no coordinated omission, as wrk2 does it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace albemu::loadgen {

struct OpenLoopOptions {
  boost::asio::ip::tcp::endpoint target;
  std::vector<std::string> requests;  // sent round-robin; must not be empty
  int connections = 64;               // keepalive connections, opened before the schedule starts
  double rate = 1000;                 // requests per second, over all connections
  std::chrono::nanoseconds warmup{std::chrono::seconds(1)};     // scheduled, not recorded
  std::chrono::nanoseconds duration{std::chrono::seconds(10)};  // recorded
  std::chrono::nanoseconds drain{std::chrono::seconds(5)};  // wait for late answers, then give up
};

struct OpenLoopResult {
  uint64_t scheduled = 0;              // requests due in warmup + duration
  uint64_t completed = 0;              // answered (any status), warmup included
  uint64_t errors = 0;                 // connect, write or read failures (the request is lost)
  uint64_t non_2xx = 0;                // answered with a status outside 200-299
  uint64_t unfinished = 0;             // still queued or in flight when the drain time ran out
  std::vector<uint64_t> latencies_ns;  // one per recorded (post-warmup) answer
  double measured_seconds = 0;  // from the first recorded request's schedule to the last answer
};

/// One run on the caller's io_context (single-threaded). start() connects every connection,
/// then schedules; the io_context runs out of work when the run is over.
class OpenLoop {
 public:
  OpenLoop(boost::asio::io_context& io_context, OpenLoopOptions options);
  ~OpenLoop();
  OpenLoop(const OpenLoop&) = delete;
  OpenLoop& operator=(const OpenLoop&) = delete;

  void start();
  /// Valid once the io_context has returned from run().
  OpenLoopResult& result() { return result_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection;
  struct Due {
    Clock::time_point scheduled;
    uint64_t index;
  };

  void connect(Connection& connection);
  void on_connected(Connection& connection);
  void begin_schedule();
  void on_tick();
  void dispatch();
  void send(Connection& connection, Due due);
  void do_read_answer(Connection& connection);
  void on_answer(Connection& connection, unsigned status);
  void on_failure(Connection& connection);
  void finish_if_done();
  void finish();
  Clock::time_point scheduled_time(uint64_t index) const;

  boost::asio::io_context& io_context_;
  OpenLoopOptions options_;
  OpenLoopResult result_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Due> queue_;  // due but waiting for a free connection
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer drain_timer_;
  Clock::time_point start_;
  uint64_t total_ = 0;         // requests to schedule
  uint64_t warmup_count_ = 0;  // the first ones, not recorded
  uint64_t next_ = 0;          // next index to schedule
  uint64_t in_flight_ = 0;
  int connected_initially_ = 0;
  bool scheduling_ = false;
  bool finished_ = false;
};

}  // namespace albemu::loadgen
