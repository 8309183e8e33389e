#pragma once
// One request from its head to its log line, whatever protocol carried it. Its phases have
// names and run in this order, each of them able to end the request with an answer:
//
//   head received (begin) -> route -> security policy -> fault injection -> exchange
//     -> response -> log
//
// It talks to its client only through a RequestStream, and to its backend through an
// UpstreamExchange. Not a template: the HTTP/1 connection keeps one and reuses it request after
// request; an HTTP/2 connection would keep one per stream.

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "proxy/core/proxy_error.h"
#include "proxy/net/request_context.h"
#include "proxy/net/request_stream.h"

namespace albemu::net {

class UpstreamExchange;

class Request {
 public:
  /// `stream` outlives the request (the connection holds both).
  explicit Request(RequestStream& stream);
  /// A request of `worker`'s that no stream holds yet (Worker::take_request lends it): it
  /// serves the stream it is attached to, one at a time.
  explicit Request(Worker& worker);
  ~Request();
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  RequestContext& context() { return ctx_; }
  const RequestContext& context() const { return ctx_; }
  RequestStream& stream() { return *stream_; }
  /// Between requests only (not active, no exchange): serves `stream` from now on.
  void attach(RequestStream& stream);
  /// Between begin() and the end of the request (its log line).
  bool active() const { return active_; }

  // ---- started by the stream

  /// Head received: pins `generation` and the forwarding rule's `listener` and `url_map` in it
  /// for the whole request, and starts its log entry. Then start() or one of the rejects.
  void begin(std::shared_ptr<const Generation> generation, const core::ListenerPlan* listener,
             const core::CompiledUrlMap* url_map, std::size_t head_bytes);
  /// Runs the phases, from routing on.
  void start();
  /// Answers a request whose head was refused (400, 408, 431) and asks to close.
  void reject(core::ProxyError error);
  /// CONNECT: Envoy answers 404 (no route has a connect_matcher) and nothing is tunnelled.
  void reject_connect();
  /// The stream ended underneath the request (the client left, the connection was closed):
  /// everything pending stops, and the request ends without an answer.
  void abort();
  /// The stream is being destroyed with the request unfinished: it ends here (its log line is
  /// written), touching nothing of the stream.
  void detach();

  // ---- reported by the exchange

  /// The response phase for the backend's head: hop-by-hop fields, Via, header actions, CORS.
  void prepare_response(ResponseHead& head, bool websocket_upgrade);
  /// The response was written whole.
  void exchange_succeeded();
  /// The exchange failed before any byte of a response was written: albemu answers `error`,
  /// with `reason` after its body (why a TLS handshake failed).
  void exchange_failed(core::ProxyError error, std::string_view reason = {});
  /// The response was cut short (the backend failed mid-body): the client's stream is reset.
  void exchange_aborted();
  /// Reading the request body failed with `ec`: a body the parser refused is the client's
  /// fault and gets a 400 if no byte of a response was written; anything else (the client
  /// left) ends the request.
  void body_failed(boost::system::error_code ec);

 private:
  // ---- the phases, in order
  void route();
  void resolve_backend(std::string_view host, std::string_view target);
  void apply_security_policy(std::string_view path);
  void apply_fault_injection();
  void after_fault_delay();
  void exchange();
  void serve_standin();
  void read_standin_body();

  // ---- answers albemu writes itself
  void answer_error(core::ProxyError error, int configured_status = 0,
                    std::string_view reason = {});
  /// Writes the response head (the status and fields set, the body in local_body_) after the
  /// response phase, then ends the request.
  void send_local();
  double draw_percentage();

  /// The log phase: writes the log line, then hands the stream back.
  void finish();

  RequestStream* stream_ = nullptr;
  RequestContext ctx_;
  std::string local_body_;
  std::size_t standin_body_length_ = 0;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    boost::asio::io_context::executor_type>
      fault_timer_;
  std::shared_ptr<UpstreamExchange> exchange_;
  bool active_ = false;
};

}  // namespace albemu::net
