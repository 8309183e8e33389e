#include "proxy/net/deadline_queue.h"

#include <boost/system/error_code.hpp>

namespace albemu::net {

DeadlineQueue::DeadlineQueue(boost::asio::io_context& io_context)
    : timer_(io_context.get_executor()) {}

// The entries left are unlinked (auto_unlink) as the set goes: their owners, destroyed later
// with the io_context's pending handlers, find them out of any queue.
DeadlineQueue::~DeadlineQueue() = default;

void DeadlineQueue::expire_by(Entry& entry, Clock::time_point at) {
  if (entry.is_linked()) {
    if (entry.expiry_ <= at) return;
    entry.unlink();
  }
  entry.expiry_ = at;
  // Deadlines are mostly the latest so far (now plus the same timeout): the hint makes that
  // insertion constant time.
  entries_.insert(entries_.end(), entry);
  if (at < armed_) arm();
}

void DeadlineQueue::arm() {
  if (entries_.empty()) return;
  const Clock::time_point earliest = entries_.begin()->expiry_;
  if (earliest >= armed_) return;
  armed_ = earliest;
  // Moving the expiry ends the pending wait with operation_aborted.
  timer_.expires_at(earliest);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_timer();
  });
}

void DeadlineQueue::on_timer() {
  armed_ = Clock::time_point::max();
  const Clock::time_point now = Clock::now();
  try {
    while (!entries_.empty() && entries_.begin()->expiry_ <= now) {
      Entry& entry = *entries_.begin();
      entry.unlink();
      // May queue this entry again (for later than now) or others, or destroy nothing: an
      // owner is destroyed only by its last handler, never from here.
      entry.on_expiry();
    }
  } catch (...) {
    arm();  // the worker goes on after a handler threw: so do the other deadlines
    throw;
  }
  arm();
}

}  // namespace albemu::net
