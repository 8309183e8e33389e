#pragma once
// The deadlines of a client connection's pending read and write; the worker's DeadlineQueue
// (deadline_queue.h) holds the connection for the earlier one.

#include <algorithm>
#include <chrono>

namespace albemu::net {

/// A read and a write may be pending together (an answer written beside a body read), each
/// with a deadline of its own; the connection closes when the earlier one passes.
class ConnectionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  void read(Clock::time_point deadline) { read_ = deadline; }
  void write(Clock::time_point deadline) { write_ = deadline; }
  void read_done() { read_ = Clock::time_point::max(); }
  void write_done() { write_ = Clock::time_point::max(); }
  /// The earlier deadline; time_point::max() when nothing is pending.
  Clock::time_point next() const { return std::min(read_, write_); }

 private:
  Clock::time_point read_ = Clock::time_point::max();
  Clock::time_point write_ = Clock::time_point::max();
};

}  // namespace albemu::net
