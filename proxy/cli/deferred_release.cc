#include "proxy/cli/deferred_release.h"

#include <algorithm>
#include <utility>

namespace albemu::cli {

DeferredRelease::DeferredRelease(boost::asio::io_context& io_context, Delays delays)
    : timer_(io_context), delays_(delays) {}

void DeferredRelease::release(std::shared_ptr<const void> object) {
  if (!object) return;
  held_.push_back(std::move(object));
  if (on_change) on_change(held_.size());
  if (!scheduled_) schedule(delays_.first);
}

void DeferredRelease::schedule(std::chrono::milliseconds delay) {
  scheduled_ = true;
  timer_.expires_after(delay);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    scheduled_ = false;
    if (!ec) sweep();
  });
}

void DeferredRelease::sweep() {
  // A released object is handed out no more, so a count of one cannot grow again.
  const auto freed = std::erase_if(
      held_, [](const std::shared_ptr<const void>& object) { return object.use_count() == 1; });
  if (freed != 0 && on_change) on_change(held_.size());
  if (!held_.empty()) schedule(delays_.retry);
}

}  // namespace albemu::cli
