#pragma once
// The deadlines of a worker's client connections in one queue, as nginx (a red-black tree) and
// HAProxy (an ebtree) keep theirs: each connection embeds an entry, ordered by expiry, and one
// timer waits for the earliest.

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/intrusive/set.hpp>
#include <chrono>

namespace albemu::net {

/// Worker thread only. An idle keepalive connection costs its entry (three pointers and a time
/// point) instead of a timer object of its own, a pending wait operation and a slot in Asio's
/// timer heap.
class DeadlineQueue {
 public:
  using Clock = std::chrono::steady_clock;

  /// What an owner embeds. Destroying it takes it out of the queue.
  class Entry : public boost::intrusive::set_base_hook<
                    boost::intrusive::link_mode<boost::intrusive::auto_unlink>,
                    boost::intrusive::optimize_size<true>> {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    /// Worker thread, from the queue's timer: the time the entry was queued for has come. The
    /// entry is no longer queued; the owner checks its own deadline, which may have moved
    /// later meanwhile, and queues the entry again or acts.
    virtual void on_expiry() = 0;

   protected:
    ~Entry() = default;

   private:
    friend class DeadlineQueue;
    Clock::time_point expiry_{};
  };

  explicit DeadlineQueue(boost::asio::io_context& io_context);
  ~DeadlineQueue();
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  /// Queues `entry` for `at`, unless it is queued for no later than that already: it then
  /// expires at its earlier time and its owner queues it again. A deadline that keeps moving
  /// later, as a keepalive connection's does with each request, so costs nothing per request.
  void expire_by(Entry& entry, Clock::time_point at);
  /// Takes `entry` out of the queue (nothing if it is not queued).
  static void cancel(Entry& entry) { entry.unlink(); }
  static bool queued(const Entry& entry) { return entry.is_linked(); }
  bool empty() const { return entries_.empty(); }
  /// When the timer fires next; time_point::max() when no wait is pending.
  Clock::time_point armed_for() const { return armed_; }

 private:
  struct ByExpiry {
    bool operator()(const Entry& a, const Entry& b) const { return a.expiry_ < b.expiry_; }
  };
  using Entries = boost::intrusive::multiset<Entry, boost::intrusive::compare<ByExpiry>,
                                             boost::intrusive::constant_time_size<false>>;
  using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>,
                                                  boost::asio::io_context::executor_type>;

  /// Arms the timer for the earliest entry if it is due before the pending wait.
  void arm();
  void on_timer();

  Entries entries_;
  Timer timer_;
  Clock::time_point armed_ = Clock::time_point::max();
};

}  // namespace albemu::net
