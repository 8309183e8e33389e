#pragma once
// HTTP/2 in cleartext with prior knowledge (h2c) to a Cloud Run service that declares
// `useHttp2`, as the load balancer speaks it to a service deployed with --use-http2. One pooled
// connection per endpoint carries many requests, each on its own stream, up to the service's
// SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 is the codec. Each stream is one UpstreamRequest,
// so the exchange's phases and retry rules are the same as over HTTP/1.1; what HTTP/2 adds is
// the response's trailers (gRPC's status).

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/net/http2_codec.h"
#include "proxy/net/upstream_pool.h"
#include "proxy/net/upstream_request.h"

struct nghttp2_session;

namespace albemu::net {

class Worker;
class H2cConnection;

/// One request on one stream of an h2c connection.
class H2cUpstream final : public UpstreamRequest, public std::enable_shared_from_this<H2cUpstream> {
 public:
  H2cUpstream(Worker& worker, std::shared_ptr<H2cConnection> connection, bool reused);
  ~H2cUpstream() override;

  bool reused() const override { return reused_; }
  bool full_duplex() const override { return true; }
  void send_head(RequestHead& head, std::optional<std::uint64_t> body_length, std::string_view body,
                 bool end, SizeHandler handler) override;
  void send_body(std::string_view piece, bool end, Handler handler) override;
  void receive_head(ResponseHead& head, bool head_request, Handler handler) override;
  bool response_started() const override { return response_started_; }
  std::optional<std::uint64_t> response_length() const override;
  bool body_ready() const override;
  void receive_body(BodyHandler handler) override;
  const char* body_piece() const override { return chunk_.get(); }
  const HeadFields* trailers() const override;
  void interrupt() override;
  void stop_sending() override;
  void release() override;

  // A stream carries no upgrade.
  std::string_view tunnel_pending() override { return {}; }
  void tunnel_consumed(std::size_t) override {}
  void read_tunnel(char*, std::size_t, Deadline, SizeHandler handler) override;
  void write_tunnel(const char*, std::size_t, Deadline, SizeHandler handler) override;

  // ---- from the connection (inside the codec's callbacks: handlers are posted)
  void on_field(std::string_view name, std::string_view value, bool trailer);
  /// A response head is complete (interim 1xx heads are dropped).
  void on_head_end(bool end_stream);
  void on_data(const char* data, std::size_t size);
  void on_end_stream();
  void on_closed(std::uint32_t error);
  /// nghttp2's data source: the request body.
  long read_request(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags);

 private:
  template <class Fn>
  void post(Fn fn);
  void complete_send(boost::system::error_code ec);
  void deliver_head();
  void deliver_body();
  void fail_pending(boost::system::error_code ec);
  /// Ends the stream with RST_STREAM if it is still open.
  void cancel_stream();

  Worker& worker_;
  std::shared_ptr<H2cConnection> connection_;
  bool reused_;
  std::int32_t id_ = 0;  // assigned by send_head

  // The request body queued for the codec.
  ByteQueue out_body_;
  bool out_end_ = false;
  bool data_deferred_ = false;
  bool sending_stopped_ = false;
  SizeHandler pending_send_;
  std::size_t pending_send_size_ = 0;

  // The response.
  ResponseHead head_;  // as it arrives; copied into the exchange's head when complete
  unsigned status_ = 0;
  bool head_done_ = false;
  bool response_started_ = false;
  ResponseHead* response_ = nullptr;
  Handler pending_head_;
  ByteQueue in_body_;
  std::unique_ptr<char[]> chunk_;  // lent by the worker
  BodyHandler pending_body_;
  std::optional<HeadFields> trailers_;
  bool in_trailers_ = false;
  bool remote_ended_ = false;
  bool closed_ = false;
  boost::system::error_code error_;  // why the stream ended early
  bool interrupted_ = false;
};

/// The h2c connections of one worker, by endpoint.
class H2cPool {
 public:
  H2cPool(Worker& worker, UpstreamPool& sockets);
  ~H2cPool() { close_all(); }
  H2cPool(const H2cPool&) = delete;
  H2cPool& operator=(const H2cPool&) = delete;
  /// A stream on an open connection to `endpoint` with room for one more, or null.
  std::shared_ptr<UpstreamRequest> take(const Endpoint& endpoint);
  /// A stream on a new connection to `endpoint`. Exchanges that ask while one is being opened
  /// wait for it (up to the streams a connection carries) instead of each opening its own: a
  /// burst of requests to a service opens one connection, as it would to Cloud Run.
  std::weak_ptr<PendingConnect> connect(const Endpoint& endpoint,
                                        UpstreamConnector::Deadline deadline,
                                        UpstreamConnector::ConnectHandler handler);
  void close_all();
  /// The connection ended: it leaves the pool.
  void remove(const H2cConnection* connection);

 private:
  struct Opening;
  /// The socket to `key` is connected (or failed): the waiting exchanges get their streams.
  void opened(const std::string& key, const std::shared_ptr<Opening>& opening,
              boost::system::error_code ec, std::unique_ptr<UpstreamStream> socket);

  /// Every 30 s while connections are held: closes those that carried no stream for
  /// UpstreamPool::kIdleTimeout, as idle HTTP/1.1 connections are.
  void arm_sweep();

  Worker& worker_;
  UpstreamPool& sockets_;
  boost::asio::steady_timer sweep_timer_;
  bool sweep_armed_ = false;
  std::unordered_map<std::string, std::vector<std::shared_ptr<H2cConnection>>> connections_;
  std::unordered_map<std::string, std::shared_ptr<Opening>> opening_;  // by endpoint key
};

}  // namespace albemu::net
