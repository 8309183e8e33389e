// Released objects are freed on the io_context's thread, after the first delay, and only once
// nothing else holds them. Each object's deleter records the thread it ran on.

#include "proxy/cli/deferred_release.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace albemu::cli {
namespace {

using namespace std::chrono_literals;

struct Freed {
  std::optional<std::thread::id> on;
};

std::shared_ptr<const int> tracked(Freed& freed) {
  return std::shared_ptr<const int>(new int(7), [&freed](const int* value) {
    freed.on = std::this_thread::get_id();
    delete value;
  });
}

TEST(DeferredRelease, FreesOnTheTimerNotInsideRelease) {
  boost::asio::io_context io;
  DeferredRelease release(io, {0ms, 1h});
  Freed freed;
  release.release(tracked(freed));
  EXPECT_FALSE(freed.on) << "freed inside release(), before the caller's answer";
  EXPECT_EQ(release.pending(), 1u);
  io.run_one();
  EXPECT_TRUE(freed.on);
  EXPECT_EQ(release.pending(), 0u);
}

TEST(DeferredRelease, KeepsAnObjectSomeoneElseHoldsAndFreesItHereWhenTheyLetGo) {
  boost::asio::io_context io;
  DeferredRelease release(io, {0ms, 0ms});
  Freed freed;
  std::shared_ptr<const int> request = tracked(freed);  // a request pinning the old generation
  release.release(request);
  io.run_one();  // the first try: still held elsewhere
  EXPECT_FALSE(freed.on);
  EXPECT_EQ(release.pending(), 1u);

  std::thread worker([held = std::move(request)]() mutable { held.reset(); });
  worker.join();
  EXPECT_FALSE(freed.on) << "the worker that let go last freed it";
  io.run_one();  // the retry
  ASSERT_TRUE(freed.on);
  EXPECT_EQ(*freed.on, std::this_thread::get_id());
  EXPECT_EQ(release.pending(), 0u);
  EXPECT_EQ(io.poll(), 0u) << "nothing left to wait for";
}

TEST(DeferredRelease, OneTimerServesManyReleases) {
  boost::asio::io_context io;
  DeferredRelease release(io, {0ms, 1h});
  Freed first;
  Freed second;
  release.release(tracked(first));
  release.release(tracked(second));
  release.release(nullptr);
  EXPECT_EQ(release.pending(), 2u);
  EXPECT_EQ(io.run_one(), 1u);
  EXPECT_TRUE(first.on);
  EXPECT_TRUE(second.on);
  EXPECT_EQ(io.poll(), 0u);
}

TEST(DeferredRelease, ReportsThePendingCountWhenItChanges) {
  boost::asio::io_context io;
  DeferredRelease release(io, {0ms, 0ms});
  std::vector<std::size_t> counts;
  release.on_change = [&counts](std::size_t pending) { counts.push_back(pending); };
  Freed pinned_freed;
  Freed free_freed;
  std::shared_ptr<const int> pinned = tracked(pinned_freed);
  release.release(pinned);
  release.release(tracked(free_freed));
  io.run_one();  // frees the one nobody holds
  io.run_one();  // a retry that frees nothing: no report
  pinned.reset();
  io.run_one();
  EXPECT_EQ(counts, (std::vector<std::size_t>{1, 2, 1, 0}));
}

}  // namespace
}  // namespace albemu::cli
