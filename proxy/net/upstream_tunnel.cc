// UpstreamExchange, continued: the WebSocket tunnel after the backend's 101.
#include "proxy/net/upstream_exchange.h"

#include <boost/asio/write.hpp>

namespace albemu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// ---- WebSocket: after the backend's 101, bytes flow both ways untouched

void UpstreamExchange::start_tunnel() {
  disarm_deadline();  // the tunnel's reads and writes carry their own expiry
  transform_response(response(), &ctx_.decision, &host_.connection().variables, true);
  ctx_.log.status = 101;
  ctx_.log.status_details = "response_sent_by_backend";
  // The WebSocket lives at most as long as the route timeout allows (60 min serverless).
  wire_.response_head.clear();
  serialize_response_head(response(), wire_.response_head);
  wire_.out.assign({asio::buffer(wire_.response_head)});
  host_.write_client(wire_.out, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (ec) return self->host_.exchange_aborted();
    self->ctx_.log.response_size += n;
    self->tunnel_buffer_ = std::make_unique<char[]>(kBodyChunkSize);
    self->tunnel_client_to_backend();
    self->tunnel_backend_to_client();
  });
}

void UpstreamExchange::tunnel_client_to_backend() {
  if (tunnel_closing_) return;
  auto& pending = host_.client_buffer();
  if (pending.size() > 0) {
    upstream_->expires_at(ctx_.deadline);
    return asio::async_write(*upstream_, pending.data(),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               if (ec) return self->end_tunnel();
                               self->host_.client_buffer().consume(n);
                               self->tunnel_client_to_backend();
                             });
  }
  host_.read_tunnel(host_.chunk(), kBodyChunkSize, ctx_.deadline,
                    [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                      if (ec || self->tunnel_closing_) return self->end_tunnel();
                      self->ctx_.log.request_size += n;
                      self->upstream_->expires_at(self->ctx_.deadline);
                      asio::async_write(*self->upstream_, asio::buffer(self->host_.chunk(), n),
                                        [self](beast::error_code ec, std::size_t) {
                                          if (ec) return self->end_tunnel();
                                          self->tunnel_client_to_backend();
                                        });
                    });
}

void UpstreamExchange::tunnel_backend_to_client() {
  if (tunnel_closing_) return;
  if (upstream_buffer_.size() > 0) {
    const auto data = upstream_buffer_.data();
    return host_.write_tunnel(static_cast<const char*>(data.data()), data.size(), ctx_.deadline,
                              [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                if (ec) return self->end_tunnel();
                                self->upstream_buffer_.consume(n);
                                self->tunnel_backend_to_client();
                              });
  }
  upstream_->expires_at(ctx_.deadline);
  upstream_->async_read_some(asio::buffer(tunnel_buffer_.get(), kBodyChunkSize),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               if (ec || self->tunnel_closing_) return self->end_tunnel();
                               self->ctx_.log.response_size += n;
                               self->host_.write_tunnel(self->tunnel_buffer_.get(), n,
                                                        self->ctx_.deadline,
                                                        [self](beast::error_code ec, std::size_t) {
                                                          if (ec) return self->end_tunnel();
                                                          self->tunnel_backend_to_client();
                                                        });
                             });
}

void UpstreamExchange::end_tunnel() {
  if (tunnel_closing_) return;
  tunnel_closing_ = true;
  if (upstream_) upstream_->close();
  host_.close_client();
  host_.exchange_done(false);
}

}  // namespace albemu::net
