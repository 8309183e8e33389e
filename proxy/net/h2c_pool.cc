// The h2c connections of one worker (H2cPool, h2c_upstream.h): streams on kept connections,
// new connections shared by the exchanges that ask while one opens, and the idle sweep.
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "proxy/net/h2c_connection.h"
#include "proxy/net/worker.h"

namespace albemu::net {

namespace asio = boost::asio;
using boost::system::error_code;

H2cPool::H2cPool(Worker& worker, UpstreamPool& sockets)
    : worker_(worker), sockets_(sockets), sweep_timer_(worker.io_context()) {}

void H2cPool::arm_sweep() {
  if (sweep_armed_ || connections_.empty()) return;
  sweep_armed_ = true;
  sweep_timer_.expires_after(std::chrono::seconds(30));
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec) return;  // the pool is going away
    sweep_armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<H2cConnection>> expired;
    for (const auto& [key, list] : connections_) {
      for (const auto& connection : list) {
        if (connection->idle_for(now) >= UpstreamPool::kIdleTimeout) expired.push_back(connection);
      }
    }
    for (const auto& connection : expired) connection->close();  // leaves connections_
    arm_sweep();
  });
}

std::shared_ptr<UpstreamRequest> H2cPool::take(const Endpoint& endpoint) {
  const auto it = connections_.find(endpoint.key);
  if (it == connections_.end()) return nullptr;
  for (const auto& connection : it->second) {
    if (connection->has_room()) {
      return std::make_shared<H2cUpstream>(worker_, connection, connection->used());
    }
  }
  return nullptr;
}

namespace {

/// An exchange waiting for a stream on a connection being opened.
struct H2cWaiter final : PendingConnect, std::enable_shared_from_this<H2cWaiter> {
  H2cWaiter(asio::io_context& io_context, UpstreamConnector::ConnectHandler handler_in)
      : io_context(io_context), handler(std::move(handler_in)) {}

  void finish(error_code ec, std::shared_ptr<UpstreamRequest> upstream) {
    if (done) return;
    done = true;
    auto callback = std::move(handler);
    callback(ec, std::move(upstream));
  }
  /// Only this exchange stops waiting: the connection is still opened, for the others.
  void cancel() override {
    if (done) return;
    // The handler must not run inside the caller's cancel(): post it.
    asio::post(io_context, [self = shared_from_this()] {
      self->finish(asio::error::operation_aborted, nullptr);
    });
  }

  asio::io_context& io_context;
  UpstreamConnector::ConnectHandler handler;
  bool done = false;
};

}  // namespace

struct H2cPool::Opening {
  std::vector<std::shared_ptr<H2cWaiter>> waiters;
};

std::weak_ptr<PendingConnect> H2cPool::connect(const Endpoint& endpoint,
                                               UpstreamConnector::Deadline deadline,
                                               UpstreamConnector::ConnectHandler handler) {
  auto waiter = std::make_shared<H2cWaiter>(worker_.io_context(), std::move(handler));
  auto& opening = opening_[endpoint.key];
  if (opening && opening->waiters.size() < kH2cMaxStreamsPerConnection) {
    opening->waiters.push_back(waiter);
    return waiter;
  }
  // The first to ask opens the connection; the socket's connect belongs to the pool, so an
  // exchange that gives up does not take the others' connection with it.
  opening = std::make_shared<Opening>();
  opening->waiters.push_back(waiter);
  sockets_.acquire(endpoint, deadline,
                   [this, key = endpoint.key, opening](
                       error_code ec, std::unique_ptr<UpstreamStream> socket) mutable {
                     opened(key, opening, ec, std::move(socket));
                   });
  return waiter;
}

void H2cPool::opened(const std::string& key, const std::shared_ptr<Opening>& opening, error_code ec,
                     std::unique_ptr<UpstreamStream> socket) {
  if (auto it = opening_.find(key); it != opening_.end() && it->second == opening) {
    opening_.erase(it);
  }
  std::shared_ptr<H2cConnection> connection;
  if (!ec) {
    connection = std::make_shared<H2cConnection>(worker_, *this, std::move(socket));
    if (connection->start()) {
      connections_[key].push_back(connection);
      arm_sweep();
    } else {
      ec = asio::error::connection_refused;
    }
  }
  for (const auto& waiter : opening->waiters) {
    if (waiter->done) continue;
    // At most kH2cMaxStreamsPerConnection wait, and the service's SETTINGS have not come yet:
    // there is room for each.
    if (ec || !connection->has_room()) {
      waiter->finish(ec ? ec : error_code(asio::error::connection_refused), nullptr);
    } else {
      waiter->finish({}, std::make_shared<H2cUpstream>(worker_, connection, false));
    }
  }
}

void H2cPool::remove(const H2cConnection* connection) {
  for (auto& [key, list] : connections_) {
    std::erase_if(list, [connection](const auto& held) { return held.get() == connection; });
  }
}

void H2cPool::close_all() {
  auto all = std::move(connections_);
  connections_.clear();
  for (auto& [key, list] : all) {
    for (auto& connection : list) connection->close();
  }
}

}  // namespace albemu::net
