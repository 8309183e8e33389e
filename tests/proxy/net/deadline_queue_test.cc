#include "proxy/net/deadline_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace albemu::net {
namespace {

using Clock = DeadlineQueue::Clock;
using std::chrono::milliseconds;

/// An owner as a connection is one: it keeps its own deadline, which may move later while its
/// entry waits, and records when it found that deadline passed.
class DeadlineOwner final : public DeadlineQueue::Entry {
 public:
  DeadlineOwner(DeadlineQueue& queue, std::string name, std::vector<std::string>& expired)
      : queue_(queue), name_(std::move(name)), expired_(expired) {}

  void set_deadline(Clock::time_point at) {
    deadline_ = at;
    queue_.expire_by(*this, at);
  }
  int calls() const { return calls_; }
  Clock::time_point expired_at() const { return expired_at_; }

  void on_expiry() override {
    ++calls_;
    if (Clock::now() < deadline_) return queue_.expire_by(*this, deadline_);
    expired_at_ = Clock::now();
    expired_.push_back(name_);
  }

 private:
  DeadlineQueue& queue_;
  std::string name_;
  std::vector<std::string>& expired_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point expired_at_;
  int calls_ = 0;
};

/// An owner whose expiry throws, as a handler running out of memory would.
class ThrowingDeadlineOwner final : public DeadlineQueue::Entry {
 public:
  void on_expiry() override { throw std::runtime_error("expiry failed"); }
};

class DeadlineQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<DeadlineOwner> owner(const std::string& name) {
    return std::make_unique<DeadlineOwner>(*queue_, name, expired_);
  }

  boost::asio::io_context io_{1};
  std::unique_ptr<DeadlineQueue> queue_ = std::make_unique<DeadlineQueue>(io_);
  std::vector<std::string> expired_;
};

TEST_F(DeadlineQueueTest, EntriesExpireInTheOrderOfTheirDeadlinesEachOnce) {
  const auto start = Clock::now();
  auto late = owner("late");
  auto early = owner("early");
  auto middle = owner("middle");
  late->set_deadline(start + milliseconds(30));
  early->set_deadline(start + milliseconds(10));
  middle->set_deadline(start + milliseconds(20));
  EXPECT_EQ(queue_->armed_for(), start + milliseconds(10));

  io_.run();  // returns once no wait is pending: every entry expired

  EXPECT_EQ(expired_, (std::vector<std::string>{"early", "middle", "late"}));
  EXPECT_GE(late->expired_at(), start + milliseconds(30));
  EXPECT_EQ(early->calls() + middle->calls() + late->calls(), 3);
  EXPECT_TRUE(queue_->empty());
  EXPECT_EQ(queue_->armed_for(), Clock::time_point::max());
}

TEST_F(DeadlineQueueTest, ALaterDeadlineLeavesTheEntryWhereItIsAndTheOwnerQueuesItAgain) {
  const auto start = Clock::now();
  auto entry = owner("moved");
  entry->set_deadline(start + milliseconds(5));
  // The deadline moves later, as each request on a keepalive connection moves it: the queue
  // keeps the earlier time, so nothing is re-sorted and the timer is not re-armed.
  entry->set_deadline(start + milliseconds(25));
  EXPECT_EQ(queue_->armed_for(), start + milliseconds(5));

  io_.run();

  EXPECT_EQ(entry->calls(), 2);  // early once, then at its deadline
  EXPECT_EQ(expired_, std::vector<std::string>{"moved"});
  EXPECT_GE(entry->expired_at(), start + milliseconds(25));
}

TEST_F(DeadlineQueueTest, AnEarlierDeadlineMovesTheEntryAndTheTimer) {
  const auto start = Clock::now();
  auto entry = owner("sooner");
  entry->set_deadline(start + std::chrono::hours(1));
  EXPECT_EQ(queue_->armed_for(), start + std::chrono::hours(1));
  entry->set_deadline(start + milliseconds(5));
  EXPECT_EQ(queue_->armed_for(), start + milliseconds(5));

  io_.run();  // would wait an hour if the first wait were still the one pending

  EXPECT_EQ(expired_, std::vector<std::string>{"sooner"});
  EXPECT_EQ(entry->calls(), 1);
}

TEST_F(DeadlineQueueTest, AnEntryDestroyedOrCancelledWhileQueuedNeverExpires) {
  const auto start = Clock::now();
  auto destroyed = owner("destroyed");
  auto cancelled = owner("cancelled");
  auto kept = owner("kept");
  destroyed->set_deadline(start + milliseconds(5));
  cancelled->set_deadline(start + milliseconds(6));
  kept->set_deadline(start + milliseconds(15));
  destroyed.reset();  // a connection going away takes its entry out
  DeadlineQueue::cancel(*cancelled);
  EXPECT_FALSE(DeadlineQueue::queued(*cancelled));
  EXPECT_TRUE(DeadlineQueue::queued(*kept));

  io_.run();

  EXPECT_EQ(expired_, std::vector<std::string>{"kept"});
  EXPECT_EQ(cancelled->calls(), 0);
}

TEST_F(DeadlineQueueTest, EntriesOutliveTheirQueueUnlinked) {
  // A worker destroys its queue before the io_context, whose pending handlers hold the
  // connections: they are destroyed after the queue and must not touch it.
  auto first = owner("first");
  auto second = owner("second");
  first->set_deadline(Clock::now() + std::chrono::hours(1));
  second->set_deadline(Clock::now() + std::chrono::hours(2));
  queue_.reset();
  EXPECT_FALSE(DeadlineQueue::queued(*first));
  EXPECT_FALSE(DeadlineQueue::queued(*second));
  first.reset();
  second.reset();
  EXPECT_TRUE(expired_.empty());
}

TEST_F(DeadlineQueueTest, ManyEntriesWithTheSameTimeoutExpireInArrivalOrder) {
  // Every connection of a forwarding rule has the same keepalive timeout: their deadlines
  // arrive in order, which the queue inserts at its end.
  std::vector<std::unique_ptr<DeadlineOwner>> owners;
  const auto start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    owners.push_back(owner(std::to_string(i)));
    owners.back()->set_deadline(start + milliseconds(10) + std::chrono::microseconds(i));
  }
  io_.run();
  ASSERT_EQ(expired_.size(), 200U);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(expired_[i], std::to_string(i));
}

TEST_F(DeadlineQueueTest, AnExpiryThatThrowsLeavesTheOtherDeadlinesArmed) {
  // The worker logs a handler's exception and runs on: the entries still queued must still
  // expire.
  const auto start = Clock::now();
  ThrowingDeadlineOwner thrower;
  queue_->expire_by(thrower, start + milliseconds(5));
  auto later = owner("later");
  later->set_deadline(start + milliseconds(15));

  EXPECT_THROW(io_.run(), std::runtime_error);
  io_.restart();
  io_.run();

  EXPECT_EQ(expired_, std::vector<std::string>{"later"});
}

}  // namespace
}  // namespace albemu::net
