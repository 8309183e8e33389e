#include "proxy/net/upstream_pool.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

namespace albemu::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// True if the backend has not closed an idle connection: a non-blocking peek sees no EOF and
/// no error. Data arriving on an idle connection is a protocol error, so that also disqualifies.
bool still_open(boost::beast::tcp_stream& stream) {
  auto& socket = stream.socket();
  if (!socket.is_open()) return false;
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

bool parse_endpoint_url(std::string_view url, Endpoint& out) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() <= kScheme.size() || url.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  std::string_view host = rest;
  std::string_view port = "80";
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return false;
  out.host.assign(host);
  out.port.assign(port);
  out.key.assign(rest);
  return true;
}

UpstreamPool::UpstreamPool(asio::io_context& io_context)
    : io_context_(io_context), resolver_(io_context), sweep_timer_(io_context) {}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::acquire(const Endpoint& endpoint, std::chrono::steady_clock::time_point deadline,
                           ConnectHandler handler) {
  if (auto it = idle_.find(endpoint.key); it != idle_.end()) {
    auto& idle = it->second;
    const auto now = std::chrono::steady_clock::now();
    // Most recently released first: the likeliest to be still open.
    while (!idle.empty()) {
      Idle entry = std::move(idle.back());
      idle.pop_back();
      if (now - entry.since < kIdleTimeout && still_open(*entry.stream)) {
        UpstreamConnection connection{std::move(entry.stream), true};
        asio::post(io_context_,
                   [handler = std::move(handler), connection = std::move(connection)]() mutable {
                     handler({}, std::move(connection));
                   });
        return;
      }
    }
  }

  auto stream = std::make_unique<boost::beast::tcp_stream>(io_context_);
  stream->expires_at(deadline);
  // The resolver result is a shared list; the stream keeps the connect timeout.
  resolver_.async_resolve(
      endpoint.host, endpoint.port,
      [stream = std::move(stream), handler = std::move(handler), deadline](
          boost::system::error_code ec, tcp::resolver::results_type results) mutable {
        if (ec) {
          handler(ec, {});
          return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          handler(boost::beast::error::timeout, {});
          return;
        }
        auto* raw = stream.get();
        raw->async_connect(results,
                           [stream = std::move(stream), handler = std::move(handler)](
                               boost::system::error_code ec, const tcp::endpoint&) mutable {
                             if (ec) {
                               handler(ec, {});
                               return;
                             }
                             boost::system::error_code ignored;
                             stream->socket().set_option(tcp::no_delay(true), ignored);
                             handler({}, UpstreamConnection{std::move(stream), false});
                           });
      });
}

void UpstreamPool::release(const Endpoint& endpoint,
                           std::unique_ptr<boost::beast::tcp_stream> stream) {
  if (!stream || !stream->socket().is_open()) return;
  stream->expires_never();
  idle_[endpoint.key].push_back(Idle{std::move(stream), std::chrono::steady_clock::now()});
  arm_sweep();
}

void UpstreamPool::close_all() {
  idle_.clear();
  sweep_timer_.cancel();
  resolver_.cancel();
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

void UpstreamPool::arm_sweep() {
  if (sweep_armed_) return;
  sweep_armed_ = true;
  // Idle connections are otherwise only checked when reused; the sweep closes the ones that
  // outlived the backend keepalive so their file descriptors do not linger.
  sweep_timer_.expires_after(std::chrono::seconds(30));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    sweep_armed_ = false;
    if (ec) return;
    const auto now = std::chrono::steady_clock::now();
    bool any = false;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      std::erase_if(list, [&](Idle& entry) {
        return now - entry.since >= kIdleTimeout || !still_open(*entry.stream);
      });
      if (list.empty()) {
        it = idle_.erase(it);
      } else {
        any = true;
        ++it;
      }
    }
    if (any) arm_sweep();
  });
}

}  // namespace albemu::net
