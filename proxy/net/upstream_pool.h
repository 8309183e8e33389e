#pragma once
// Per-worker pool of keepalive connections to backends, keyed by endpoint ("host:port"); TLS
// connections apart, keyed by endpoint and client context (Endpoint::pool_key).
// Lives on one worker thread: no locks. Idle connections are dropped after 600 s (spec
// section 0: backend keepalive) or as soon as the backend has closed them.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/net/upstream_request.h"

namespace albemu::net {

/// A connection to a backend. The io_context's own executor type, not the type-erased
/// any_io_executor: every asynchronous operation would otherwise copy and destroy an erased
/// executor, a measurable share of a proxied request's cost.
using UpstreamStream =
    boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

/// A TLS connection to a backend (an https:// URL), over such a stream.
using TlsUpstreamStream = boost::asio::ssl::stream<UpstreamStream>;

/// An acquire in progress (resolve or connect).
struct PendingAcquire;

class UpstreamPool {
 public:
  using ConnectHandler = std::move_only_function<void(boost::system::error_code,
                                                      std::unique_ptr<UpstreamStream> stream)>;

  static constexpr std::chrono::seconds kIdleTimeout{600};
  /// How long a resolved name is reused (stand-ins rarely move; this bounds DNS load).
  static constexpr std::chrono::seconds kResolveCacheTtl{5};

  explicit UpstreamPool(boost::asio::io_context& io_context);
  ~UpstreamPool();

  /// Worker thread. Opens a new connection to `endpoint` (callers try take_idle first): resolves
  /// the name (numeric addresses skip resolution; names are cached for kResolveCacheTtl) and
  /// connects; one timer bounds resolve and connect together by `deadline` (error::timeout).
  /// The handler runs exactly once, always from the io_context (never inline). The result can
  /// cancel it.
  std::weak_ptr<PendingConnect> acquire(const Endpoint& endpoint,
                                        std::chrono::steady_clock::time_point deadline,
                                        ConnectHandler handler);

  /// Worker thread. A pooled connection to `endpoint` released less than kIdleTimeout ago, or
  /// null. `verify` also checks with a non-blocking peek (one syscall) that the backend has not
  /// closed it; without it, a closed connection shows up as a failed first write or an empty
  /// read, which callers retry when they can send the request again.
  std::unique_ptr<UpstreamStream> take_idle(const Endpoint& endpoint, bool verify);

  /// Worker thread. Returns a connection whose last exchange ended cleanly (response fully
  /// read, keep-alive) for reuse.
  void release(const Endpoint& endpoint, std::unique_ptr<UpstreamStream> stream);

  /// Worker thread. take_idle and release for TLS connections (Endpoint::pool_key): a TLS
  /// connection is only ever reused for the same endpoint verified by the same context.
  std::unique_ptr<TlsUpstreamStream> take_idle_tls(const Endpoint& endpoint, bool verify);
  void release_tls(const Endpoint& endpoint, std::unique_ptr<TlsUpstreamStream> stream);

  /// Worker thread. The TLS session of the last connection to `endpoint` (its pool_key) that
  /// ended its exchange, for the next handshake to resume (one round trip and no certificate
  /// chain); null if none. keep_tls_session records it, taken from `stream` once a response was
  /// read (a TLS 1.3 server sends its tickets after the handshake).
  SSL_SESSION* tls_session(const Endpoint& endpoint) const;
  void keep_tls_session(const Endpoint& endpoint, TlsUpstreamStream& stream);

  /// Closes every idle connection (drain/stop).
  void close_all();

  std::size_t idle_count() const;

 private:
  template <class Stream>
  struct Idle {
    std::unique_ptr<Stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  template <class Stream>
  using IdleMap = std::unordered_map<std::string, std::vector<Idle<Stream>>>;
  template <class Stream>
  std::unique_ptr<Stream> take_from(IdleMap<Stream>& map, const std::string& key, bool verify);
  /// Drops the expired and closed connections of `map`; true if any are left.
  template <class Stream>
  static bool sweep(IdleMap<Stream>& map);
  void arm_sweep();
  void resolve_and_connect(const Endpoint& endpoint,
                           const std::shared_ptr<PendingAcquire>& pending);

  struct CachedResolve {
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    std::chrono::steady_clock::time_point expires;
  };

  boost::asio::io_context& io_context_;
  boost::asio::steady_timer sweep_timer_;
  bool sweep_armed_ = false;
  IdleMap<UpstreamStream> idle_;
  IdleMap<TlsUpstreamStream> idle_tls_;
  std::unordered_map<std::string, std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>>
      tls_sessions_;
  std::unordered_map<std::string, CachedResolve> resolved_;
};

}  // namespace albemu::net
