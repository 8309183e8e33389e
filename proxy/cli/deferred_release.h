#pragma once
// Objects given up on the main thread and freed there later, once nothing else holds them.
//
// A reload hands the new snapshot to the workers and answers at once. Freeing the old one takes
// milliseconds for a 1 MB URL map, so it waits until after the answer; and since a request in
// flight may still pin the old generation, whoever lets go last would free it. Here that is
// never a worker: the main thread keeps a reference until it is the only one left.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace albemu::cli {

class DeferredRelease {
 public:
  struct Delays {
    /// From release() to the first try: lets the answers of the reload go out first.
    std::chrono::milliseconds first{100};
    /// Between tries while something else still holds an object.
    std::chrono::milliseconds retry{std::chrono::seconds(1)};
  };

  DeferredRelease(boost::asio::io_context& io_context, Delays delays);

  /// Takes one reference to `object` and drops it on the io_context's thread, after
  /// `Delays::first`, as soon as it is the only reference left. Call on that thread.
  void release(std::shared_ptr<const void> object);

  /// Objects still waiting.
  std::size_t pending() const { return held_.size(); }

  /// Called with pending() whenever it changed (a release, a sweep that freed some).
  std::function<void(std::size_t pending)> on_change;

 private:
  void schedule(std::chrono::milliseconds delay);
  void sweep();

  boost::asio::steady_timer timer_;
  Delays delays_;
  std::vector<std::shared_ptr<const void>> held_;
  bool scheduled_ = false;
};

}  // namespace albemu::cli
