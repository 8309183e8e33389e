#include "proxy/net/upstream_pool.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <charconv>

#include "proxy/net/socket_io.h"

namespace albemu::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

UpstreamStream& pooled_tcp_of(UpstreamStream& stream) { return stream; }
UpstreamStream& pooled_tcp_of(TlsUpstreamStream& stream) { return stream.next_layer(); }

/// True if the backend has not closed an idle connection: a non-blocking peek sees no EOF and
/// no error. Data arriving on an idle connection is a protocol error, so that also disqualifies.
bool still_open(UpstreamStream& stream) {
  auto& socket = stream.socket();
  if (!socket.is_open()) return false;
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

/// Shared by the timer, resolve and connect handlers; `done` makes the first one win.
struct PendingAcquire final : PendingConnect, std::enable_shared_from_this<PendingAcquire> {
  PendingAcquire(asio::io_context& io_context, UpstreamPool::ConnectHandler handler_in)
      : resolver(io_context), timer(io_context), handler(std::move(handler_in)) {}

  void finish(boost::system::error_code ec, std::unique_ptr<UpstreamStream> connected) {
    if (done) return;
    done = true;
    timer.cancel();
    resolver.cancel();
    auto callback = std::move(handler);
    callback(ec, std::move(connected));
  }
  void cancel() override {
    if (done) return;
    close_stream();
    timer.cancel();
    // The handler must not run inside the caller's cancel(): post it.
    asio::post(timer.get_executor(), [self = shared_from_this()] {
      self->finish(asio::error::operation_aborted, nullptr);
    });
  }
  void close_stream() {
    boost::system::error_code ignored;
    if (stream) stream->socket().close(ignored);
  }

  tcp::resolver resolver;
  asio::steady_timer timer;
  std::unique_ptr<UpstreamStream> stream;
  UpstreamPool::ConnectHandler handler;
  bool done = false;
};

bool parse_endpoint_url(std::string_view url, Endpoint& out) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  const bool https = url.starts_with(kHttps);
  const std::string_view scheme = https ? kHttps : kHttp;
  if (url.size() <= scheme.size() || !url.starts_with(scheme)) return false;
  std::string_view rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  std::string_view host = rest;
  std::string_view port = https ? "443" : "80";
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
  out.https = https;
  return true;
}

UpstreamPool::UpstreamPool(asio::io_context& io_context)
    : io_context_(io_context), sweep_timer_(io_context) {}

UpstreamPool::~UpstreamPool() = default;

std::weak_ptr<PendingConnect> UpstreamPool::acquire(const Endpoint& endpoint,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    ConnectHandler handler) {
  auto pending = std::make_shared<PendingAcquire>(io_context_, std::move(handler));
  pending->stream = std::make_unique<UpstreamStream>(io_context_.get_executor());
  // One deadline for resolve and connect together: getaddrinfo cannot be interrupted, so the
  // timer answers for it and whatever completes later finds the acquire done.
  pending->timer.expires_at(deadline);
  pending->timer.async_wait([pending](boost::system::error_code ec) {
    if (ec) return;
    pending->close_stream();
    pending->finish(boost::beast::error::timeout, {});
  });
  resolve_and_connect(endpoint, pending);
  return pending;
}

template <class Stream>
std::unique_ptr<Stream> UpstreamPool::take_from(IdleMap<Stream>& map, const std::string& key,
                                                bool verify) {
  const auto it = map.find(key);
  if (it == map.end()) return nullptr;
  auto& idle = it->second;
  const auto now = std::chrono::steady_clock::now();
  // Most recently released first: the likeliest to be still open.
  while (!idle.empty()) {
    Idle<Stream> entry = std::move(idle.back());
    idle.pop_back();
    if (now - entry.since < kIdleTimeout && (!verify || still_open(pooled_tcp_of(*entry.stream))))
      return std::move(entry.stream);
  }
  return nullptr;
}

std::unique_ptr<UpstreamStream> UpstreamPool::take_idle(const Endpoint& endpoint, bool verify) {
  return take_from(idle_, endpoint.key, verify);
}

std::unique_ptr<TlsUpstreamStream> UpstreamPool::take_idle_tls(const Endpoint& endpoint,
                                                               bool verify) {
  return take_from(idle_tls_, endpoint.pool_key, verify);
}

void UpstreamPool::resolve_and_connect(const Endpoint& endpoint,
                                       const std::shared_ptr<PendingAcquire>& pending) {
  auto connect = [pending](const std::vector<tcp::endpoint>& endpoints) {
    if (pending->done) return;
    auto* stream = pending->stream.get();
    stream->async_connect(endpoints, [pending](boost::system::error_code ec, const tcp::endpoint&) {
      if (pending->done) return;
      if (ec) return pending->finish(ec, {});
      boost::system::error_code ignored;
      pending->stream->socket().set_option(tcp::no_delay(true), ignored);
      enable_drained_reads(pending->stream->socket());
      pending->finish({}, std::move(pending->stream));
    });
  };

  // Numeric addresses (most stand-ins are 127.0.0.1:port) need no resolver at all.
  boost::system::error_code address_ec;
  const auto address = asio::ip::make_address(endpoint.host, address_ec);
  unsigned short port = 0;
  const auto [end, port_ec] =
      std::from_chars(endpoint.port.data(), endpoint.port.data() + endpoint.port.size(), port);
  if (!address_ec && port_ec == std::errc() && end == endpoint.port.data() + endpoint.port.size()) {
    std::vector<tcp::endpoint> endpoints{tcp::endpoint(address, port)};
    // Through the io_context: the handler never runs inline.
    return asio::post(io_context_,
                      [connect, endpoints = std::move(endpoints)] { connect(endpoints); });
  }

  const auto now = std::chrono::steady_clock::now();
  if (auto it = resolved_.find(endpoint.key); it != resolved_.end()) {
    if (now < it->second.expires) {
      return asio::post(io_context_,
                        [connect, endpoints = it->second.endpoints] { connect(endpoints); });
    }
    resolved_.erase(it);
  }
  pending->resolver.async_resolve(
      endpoint.host, endpoint.port,
      [this, pending, connect, key = endpoint.key](boost::system::error_code ec,
                                                   const tcp::resolver::results_type& results) {
        if (pending->done) return;
        if (ec) return pending->finish(ec, {});
        std::vector<tcp::endpoint> endpoints;
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
        resolved_[key] =
            CachedResolve{endpoints, std::chrono::steady_clock::now() + kResolveCacheTtl};
        connect(endpoints);
      });
}

void UpstreamPool::release(const Endpoint& endpoint, std::unique_ptr<UpstreamStream> stream) {
  if (!stream || !stream->socket().is_open()) return;
  stream->expires_never();
  idle_[endpoint.key].push_back(
      Idle<UpstreamStream>{std::move(stream), std::chrono::steady_clock::now()});
  arm_sweep();
}

void UpstreamPool::release_tls(const Endpoint& endpoint,
                               std::unique_ptr<TlsUpstreamStream> stream) {
  if (!stream || !stream->next_layer().socket().is_open()) return;
  stream->next_layer().expires_never();
  idle_tls_[endpoint.pool_key].push_back(
      Idle<TlsUpstreamStream>{std::move(stream), std::chrono::steady_clock::now()});
  arm_sweep();
}

SSL_SESSION* UpstreamPool::tls_session(const Endpoint& endpoint) const {
  const auto it = tls_sessions_.find(endpoint.pool_key);
  return it == tls_sessions_.end() ? nullptr : it->second.get();
}

void UpstreamPool::keep_tls_session(const Endpoint& endpoint, TlsUpstreamStream& stream) {
  const SSL_SESSION* current = SSL_get0_session(stream.native_handle());
  if (current == nullptr || !SSL_SESSION_is_resumable(current)) return;
  // A copy: OpenSSL marks a connection's own session unresumable when the connection is
  // closed without close_notify, as albemu closes backend connections.
  SSL_SESSION* session = SSL_SESSION_dup(current);
  if (session == nullptr) return;
  tls_sessions_.insert_or_assign(
      endpoint.pool_key,
      std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>(session, SSL_SESSION_free));
}

void UpstreamPool::close_all() {
  idle_.clear();
  idle_tls_.clear();
  tls_sessions_.clear();
  sweep_timer_.cancel();
  resolved_.clear();
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  for (const auto& [key, list] : idle_tls_) n += list.size();
  return n;
}

template <class Stream>
bool UpstreamPool::sweep(IdleMap<Stream>& map) {
  const auto now = std::chrono::steady_clock::now();
  bool any = false;
  for (auto it = map.begin(); it != map.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](Idle<Stream>& entry) {
      return now - entry.since >= kIdleTimeout || !still_open(pooled_tcp_of(*entry.stream));
    });
    if (list.empty()) {
      it = map.erase(it);
    } else {
      any = true;
      ++it;
    }
  }
  return any;
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
    const bool plain_left = sweep(idle_);
    const bool any = sweep(idle_tls_) || plain_left;
    if (any) arm_sweep();
  });
}

}  // namespace albemu::net
