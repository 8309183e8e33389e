#pragma once
// HTTP/1.1 to a backend over one of the worker's pooled connections: the request head written
// with its body framing, the body relayed piece by piece, the response head and body parsed
// with Beast's parser into the proxied path's heads.

#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <optional>

#include "proxy/net/h2c_upstream.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"
#include "proxy/net/upstream_pool.h"
#include "proxy/net/upstream_request.h"

namespace albemu::net {

class Worker;

class Http1Upstream final : public UpstreamRequest,
                            public std::enable_shared_from_this<Http1Upstream> {
 public:
  /// `endpoint` outlives this object (the exchange's).
  Http1Upstream(Worker& worker, const Endpoint& endpoint, std::unique_ptr<UpstreamStream> stream,
                bool reused);
  /// The same over TLS (an https:// endpoint).
  Http1Upstream(Worker& worker, const Endpoint& endpoint, std::unique_ptr<TlsUpstreamStream> stream,
                bool reused);
  ~Http1Upstream() override;

  bool reused() const override { return reused_; }
  void send_head(RequestHead& head, std::optional<std::uint64_t> body_length, std::string_view body,
                 bool end, SizeHandler handler) override;
  void send_body(std::string_view piece, bool end, Handler handler) override;
  void receive_head(ResponseHead& head, bool head_request, Handler handler) override;
  bool response_started() const override { return response_started_; }
  std::optional<std::uint64_t> response_length() const override;
  bool body_ready() const override;
  void receive_body(BodyHandler handler) override;
  const char* body_piece() const override { return chunk_.get(); }
  void interrupt() override;
  void stop_sending() override;
  void release() override;

  std::string_view tunnel_pending() override;
  void tunnel_consumed(std::size_t bytes) override { buffer_.consume(bytes); }
  void read_tunnel(char* data, std::size_t size, Deadline deadline, SizeHandler handler) override;
  void write_tunnel(const char* data, std::size_t size, Deadline deadline,
                    SizeHandler handler) override;

 private:
  /// Runs `handler(operation_aborted)` soon (an operation after interrupt()).
  template <class Fn>
  void post_aborted(Fn handler);
  /// Parses buffered bytes into the head; true when it is complete or failed (ec).
  bool parse_head(boost::system::error_code& ec);
  void read_head();
  /// Parses buffered bytes into the chunk; true when that made progress or failed (ec).
  bool parse_body(boost::system::error_code& ec, std::size_t& n);
  /// The TCP connection, under TLS or not.
  UpstreamStream& tcp() { return tls_ ? tls_->next_layer() : *stream_; }
  bool connected() const { return stream_ || tls_; }

  Worker& worker_;
  const Endpoint& endpoint_;
  std::unique_ptr<UpstreamStream> stream_;  // plain, or
  std::unique_ptr<TlsUpstreamStream> tls_;  // TLS (one of the two while connected)
  bool reused_;
  std::unique_ptr<WireBuffers> wire_;  // lent by the worker
  bool request_chunked_ = false;
  bool interrupted_ = false;      // every operation from now on fails
  bool sending_stopped_ = false;  // no more of the body goes out
  bool request_sent_ = false;     // the last byte of the request went out
  ResponseHead* response_ = nullptr;
  bool head_request_ = false;
  std::optional<MessageHeadParser<false>> parser_;
  boost::beast::flat_buffer buffer_;  // read from the backend, not parsed yet
  bool response_started_ = false;
  Handler head_handler_;
  std::unique_ptr<char[]> chunk_;  // response body pieces, lent by the worker
};

/// The worker's UpstreamConnector: HTTP/1.1 over its UpstreamPool, or h2c streams (H2cPool)
/// to an endpoint that speaks it.
class Http1Connector final : public UpstreamConnector {
 public:
  Http1Connector(Worker& worker, UpstreamPool& pool)
      : worker_(worker), pool_(pool), h2c_(worker, pool) {}
  std::shared_ptr<UpstreamRequest> take_idle(const Endpoint& endpoint, bool verify) override;
  std::weak_ptr<PendingConnect> connect(const Endpoint& endpoint, Deadline deadline,
                                        ConnectHandler handler) override;
  void close_idle() override {
    pool_.close_all();
    h2c_.close_all();
  }

 private:
  Worker& worker_;
  UpstreamPool& pool_;
  H2cPool h2c_;
};

}  // namespace albemu::net
