// UpstreamExchange, continued: the WebSocket tunnel after the backend's 101.
#include "proxy/net/request.h"
#include "proxy/net/upstream_exchange.h"

namespace albemu::net {

// ---- after the backend's 101, bytes flow both ways untouched, until the route timeout

void UpstreamExchange::start_tunnel() {
  disarm_deadline();  // the tunnel's reads and writes carry their own deadline
  auto& head = stream_.response_head();
  request_.prepare_response(head, true);
  ctx_.log.status = 101;
  ctx_.log.status_details = "response_sent_by_backend";
  stream_.write_head(head, {}, false, [self = shared_from_this()](error_code ec, std::size_t n) {
    if (self->cancelled_) return;
    if (ec) return self->request_.exchange_aborted();
    self->ctx_.log.response_size += n;
    // One buffer a direction, lent by the worker.
    self->tunnel_buffers_[0] = self->stream_.worker().take_chunk();
    self->tunnel_buffers_[1] = self->stream_.worker().take_chunk();
    self->tunnel_client_to_backend();
    self->tunnel_backend_to_client();
  });
}

void UpstreamExchange::tunnel_client_to_backend() {
  if (tunnel_closing_) return;
  if (const auto pending = stream_.tunnel_pending(); !pending.empty()) {
    return upstream_->write_tunnel(pending.data(), pending.size(), deadline_,
                                   [self = shared_from_this()](error_code ec, std::size_t n) {
                                     if (ec || self->tunnel_closing_) return self->end_tunnel();
                                     self->stream_.tunnel_consumed(n);
                                     self->tunnel_client_to_backend();
                                   });
  }
  char* buffer = tunnel_buffers_[0].get();
  stream_.read_tunnel(buffer, kBodyChunkSize, deadline_,
                      [self = shared_from_this(), buffer](error_code ec, std::size_t n) {
                        if (ec || self->tunnel_closing_) return self->end_tunnel();
                        self->ctx_.log.request_size += n;
                        self->upstream_->write_tunnel(buffer, n, self->deadline_,
                                                      [self](error_code ec, std::size_t) {
                                                        if (ec || self->tunnel_closing_)
                                                          return self->end_tunnel();
                                                        self->tunnel_client_to_backend();
                                                      });
                      });
}

void UpstreamExchange::tunnel_backend_to_client() {
  if (tunnel_closing_) return;
  if (const auto pending = upstream_->tunnel_pending(); !pending.empty()) {
    return stream_.write_tunnel(pending.data(), pending.size(), deadline_,
                                [self = shared_from_this()](error_code ec, std::size_t n) {
                                  if (ec || self->tunnel_closing_) return self->end_tunnel();
                                  self->upstream_->tunnel_consumed(n);
                                  self->tunnel_backend_to_client();
                                });
  }
  char* buffer = tunnel_buffers_[1].get();
  upstream_->read_tunnel(buffer, kBodyChunkSize, deadline_,
                         [self = shared_from_this(), buffer](error_code ec, std::size_t n) {
                           if (ec || self->tunnel_closing_) return self->end_tunnel();
                           self->ctx_.log.response_size += n;
                           self->stream_.write_tunnel(buffer, n, self->deadline_,
                                                      [self](error_code ec, std::size_t) {
                                                        if (ec || self->tunnel_closing_)
                                                          return self->end_tunnel();
                                                        self->tunnel_backend_to_client();
                                                      });
                         });
}

/// Either side closed (or the route timeout passed): both connections close.
void UpstreamExchange::end_tunnel() {
  if (tunnel_closing_ || cancelled_) return;
  tunnel_closing_ = true;
  if (upstream_) upstream_->interrupt();
  upstream_.reset();
  stream_.reset();
  request_.exchange_succeeded();
}

}  // namespace albemu::net
