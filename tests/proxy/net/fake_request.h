#pragma once
// A request run without sockets: a FakeStream plays the client (a scripted body, recorded
// writes) and a FakeConnector hands out FakeUpstreams that play the backend (scripted
// answers, recorded requests). A Worker that is never started carries the config; the test's
// thread runs its io_context (RequestRun::run_until).

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/load/loader.h"
#include "proxy/core/snapshot.h"
#include "proxy/net/http_wire.h"
#include "proxy/net/message_head_parser.h"
#include "proxy/net/request.h"
#include "proxy/net/request_stream.h"
#include "proxy/net/upstream_request.h"
#include "proxy/net/worker.h"

namespace albemu::net::testing {

using boost::system::error_code;

/// The client side: a request head parsed from text, a body handed out piece by piece as the
/// test supplies it, and every write recorded.
class FakeStream final : public RequestStream, public std::enable_shared_from_this<FakeStream> {
 public:
  FakeStream(Worker& worker, std::string forwarding_rule) : worker_(worker), request_(*this) {
    info_.forwarding_rule = std::move(forwarding_rule);
    info_.client_ip = "10.0.0.7";
    info_.local_ip = "10.1.2.99";
    heads_ = worker.take_heads();
  }
  ~FakeStream() { worker_.give_back_heads(std::move(heads_)); }

  /// Parses `head` (a whole request head) and starts the request; `body_length`: the
  /// announced length, if any; the body is supplied with add_body.
  void start(std::string_view head, std::optional<std::uint64_t> body_length = std::nullopt,
             bool has_body = false) {
    MessageHeadParser<true> parser(heads_->request);
    error_code ec;
    parser.put_head(boost::asio::buffer(head.data(), head.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(parser.is_header_done());
    body_length_ = body_length;
    body_open_ = has_body;
    const auto& generation = worker_.generation();
    const auto* listener = generation->snapshot->find_listener(info_.forwarding_rule);
    ASSERT_NE(listener, nullptr);
    request_.begin(generation, listener, generation->snapshot->find_url_map(listener->url_map),
                   head.size());
    request_.start();
  }

  /// The client sends `piece`; `last` ends the body.
  void add_body(std::string piece, bool last) {
    pieces_.push_back(std::move(piece));
    if (last) body_ends_ = true;
    serve_read();
  }
  /// The client's next body read fails with `ec` (it left, or sent bad framing).
  void fail_body(error_code ec) {
    body_error_ = ec;
    serve_read();
  }

  Request& request() { return request_; }
  const RequestContext& context() const { return request_.context(); }

  // What the client got.
  unsigned status() const { return status_; }
  const std::string& head() const { return head_text_; }
  const std::string& body() const { return body_; }
  bool ended() const { return ended_; }
  bool was_reset() const { return reset_; }
  bool done() const { return done_; }
  bool read_pending() const { return static_cast<bool>(pending_read_); }
  /// Drops a body read still waiting, as a closing connection does: its handler holds the
  /// request, which holds this stream.
  void drop_pending_read() { pending_read_ = nullptr; }

  // ---- RequestStream
  Worker& worker() override { return worker_; }
  const ConnectionInfo& connection() const override { return info_; }
  RequestHead& request_head() override { return heads_->request; }
  ResponseHead& response_head() override { return heads_->response; }
  std::shared_ptr<void> keepalive() override { return shared_from_this(); }
  bool body_done() const override { return !body_open_; }
  std::optional<std::uint64_t> body_length() const override { return body_length_; }
  void read_body(SizeHandler handler) override {
    EXPECT_FALSE(pending_read_) << "two body reads at once";
    pending_read_ = std::move(handler);
    serve_read();
  }
  const char* body_piece() const override { return piece_.data(); }
  void write_head(ResponseHead& head, std::string_view body, bool end,
                  SizeHandler handler) override {
    EXPECT_EQ(status_, 0u) << "a second response head";
    status_ = head.result_int();
    head_text_.clear();
    serialize_response_head(head, head_text_);
    write(body, end, std::move(handler));
  }
  void write_body(std::string_view body, bool end, SizeHandler handler) override {
    EXPECT_NE(status_, 0u) << "a body piece before the head";
    write(body, end, std::move(handler));
  }
  void write_trailers(const HeadFields&, SizeHandler handler) override {
    write({}, true, std::move(handler));
  }
  void reset() override { reset_ = true; }
  void request_done() override {
    EXPECT_FALSE(done_) << "the request ended twice";
    done_ = true;
  }
  std::string_view tunnel_pending() override { return {}; }
  void tunnel_consumed(std::size_t) override {}
  /// After a 101, each read gets `tunnel_bytes` (none: the client closed).
  void read_tunnel(char* data, std::size_t size, Deadline, SizeHandler handler) override {
    ++tunnel_reads;
    const std::size_t n = std::min(size, tunnel_bytes.size());
    tunnel_bytes.copy(data, n);
    post([handler = std::move(handler), n]() mutable {
      handler(n > 0 ? error_code() : boost::asio::error::eof, n);
    });
  }
  void write_tunnel(const char*, std::size_t size, Deadline, SizeHandler handler) override {
    post([handler = std::move(handler), size]() mutable { handler({}, size); });
  }
  std::string tunnel_bytes;
  int tunnel_reads = 0;

  /// Client writes fail from now on (it left).
  bool fail_writes = false;

 private:
  template <class Fn>
  void post(Fn fn) {
    boost::asio::post(worker_.io_context(),
                      [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(); });
  }
  void serve_read() {
    if (!pending_read_) return;
    if (body_error_) {
      auto handler = std::exchange(pending_read_, nullptr);
      return post([handler = std::move(handler), ec = *body_error_]() mutable { handler(ec, 0); });
    }
    if (pieces_.empty()) return;  // the client sends nothing yet
    piece_ = std::move(pieces_.front());
    pieces_.pop_front();
    if (pieces_.empty() && body_ends_) body_open_ = false;
    auto handler = std::exchange(pending_read_, nullptr);
    post([handler = std::move(handler), n = piece_.size()]() mutable { handler({}, n); });
  }
  void write(std::string_view body, bool end, SizeHandler handler) {
    EXPECT_FALSE(ended_) << "a write after the end of the response";
    if (fail_writes) {
      return post([handler = std::move(handler)]() mutable {
        handler(boost::asio::error::broken_pipe, 0);
      });
    }
    body_.append(body);
    ended_ = end;
    post([handler = std::move(handler), n = body.size()]() mutable { handler({}, n); });
  }

  Worker& worker_;
  ConnectionInfo info_;
  std::unique_ptr<MessageHeads> heads_;
  std::optional<std::uint64_t> body_length_;
  bool body_open_ = false;
  bool body_ends_ = false;
  std::deque<std::string> pieces_;
  std::string piece_;
  std::optional<error_code> body_error_;
  SizeHandler pending_read_;
  unsigned status_ = 0;
  std::string head_text_;
  std::string body_;
  bool ended_ = false;
  bool reset_ = false;
  bool done_ = false;
  Request request_;  // last: it reaches into the members above
};

/// What one backend connection does, set by the test before the request runs.
struct UpstreamScript {
  bool connect_fails = false;  // connect() fails with connection_refused
  bool idle = false;           // a kept connection: take_idle hands it out (reused)
  bool head_write_fails = false;
  bool body_write_stalls = false;  // a body write never ends (until interrupted)
  enum class Answer {
    kAfterRequest,  // the head once the request was sent whole
    kEarly,         // the head as soon as it is awaited, body or not
    kClose,         // the connection closes before any answer
    kNever,         // no answer (until interrupted: a timeout)
  } answer = Answer::kAfterRequest;
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> body;  // the answer's body pieces
  bool body_fails = false;        // after the first piece, the connection closes
};

class FakeUpstream final : public UpstreamRequest,
                           public std::enable_shared_from_this<FakeUpstream> {
 public:
  FakeUpstream(boost::asio::io_context& io, UpstreamScript script)
      : io_(io), script_(std::move(script)) {}

  // What the backend got.
  std::string request_head;
  std::string request_body;
  bool request_ended = false;
  bool released = false;  // release() was called
  bool pooled = false;    // ... and would have kept the connection: the request went out whole
  bool interrupted = false;

  bool reused() const override { return script_.idle; }
  void send_head(RequestHead& head, std::optional<std::uint64_t>, std::string_view body, bool end,
                 SizeHandler handler) override {
    if (script_.head_write_fails) {
      return post([handler = std::move(handler)]() mutable {
        handler(boost::asio::error::broken_pipe, 0);
      });
    }
    request_head.clear();
    serialize_request_head(head, request_head);
    request_body.append(body);
    request_ended = end;
    post([this, handler = std::move(handler), n = request_head.size() + body.size()]() mutable {
      handler({}, n);
      answer_if_due();
    });
  }
  void send_body(std::string_view piece, bool end, Handler handler) override {
    if (script_.body_write_stalls) {
      stalled_write_ = std::move(handler);
      return;
    }
    request_body.append(piece);
    request_ended = end;
    post([this, handler = std::move(handler)]() mutable {
      handler({});
      answer_if_due();
    });
  }
  void receive_head(ResponseHead& head, bool, Handler handler) override {
    head_ = &head;
    head_handler_ = std::move(handler);
    answer_if_due();
  }
  bool response_started() const override { return false; }
  std::optional<std::uint64_t> response_length() const override { return std::nullopt; }
  bool body_ready() const override { return true; }
  void receive_body(BodyHandler handler) override {
    if (script_.body_fails && next_piece_ == 1) {
      return post(
          [handler = std::move(handler)]() mutable { handler(boost::asio::error::eof, 0, false); });
    }
    if (next_piece_ >= script_.body.size()) return handler({}, 0, true);
    piece_ = script_.body[next_piece_++];
    handler({}, piece_.size(), next_piece_ == script_.body.size() && !script_.body_fails);
  }
  const char* body_piece() const override { return piece_.data(); }
  void interrupt() override {
    interrupted = true;
    if (auto handler = std::exchange(head_handler_, nullptr)) {
      post([handler = std::move(handler)]() mutable {
        handler(boost::asio::error::operation_aborted);
      });
    }
    if (auto handler = std::exchange(tunnel_read_, nullptr)) {
      post([handler = std::move(handler)]() mutable {
        handler(boost::asio::error::operation_aborted, 0);
      });
    }
    stop_sending();
  }
  void stop_sending() override {
    if (auto handler = std::exchange(stalled_write_, nullptr)) {
      post([handler = std::move(handler)]() mutable {
        handler(boost::asio::error::operation_aborted);
      });
    }
  }
  void release() override {
    released = true;
    pooled = request_ended;
  }
  std::string_view tunnel_pending() override { return {}; }
  void tunnel_consumed(std::size_t) override {}
  /// After a 101: reads wait (until interrupted); writes go through.
  void read_tunnel(char*, std::size_t, Deadline, SizeHandler handler) override {
    tunnel_read_ = std::move(handler);
  }
  void write_tunnel(const char*, std::size_t size, Deadline, SizeHandler handler) override {
    post([handler = std::move(handler), size]() mutable { handler({}, size); });
  }

 private:
  template <class Fn>
  void post(Fn fn) {
    boost::asio::post(io_, [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(); });
  }
  void answer_if_due() {
    if (!head_handler_) return;
    using Answer = UpstreamScript::Answer;
    if (script_.answer == Answer::kNever) return;
    if (script_.answer == Answer::kAfterRequest && !request_ended) return;
    auto handler = std::exchange(head_handler_, nullptr);
    if (script_.answer == Answer::kClose) {
      return post([handler = std::move(handler)]() mutable {
        handler(boost::beast::http::error::end_of_stream);
      });
    }
    head_->clear();
    head_->start_response(script_.status, {}, 11);
    for (const auto& [name, value] : script_.fields) head_->insert(name, value);
    post([handler = std::move(handler)]() mutable { handler({}); });
  }

  boost::asio::io_context& io_;
  UpstreamScript script_;
  ResponseHead* head_ = nullptr;
  Handler head_handler_;
  Handler stalled_write_;
  SizeHandler tunnel_read_;
  std::size_t next_piece_ = 0;
  std::string piece_;
};

/// Hands out one FakeUpstream per script, in order.
class FakeConnector final : public UpstreamConnector {
 public:
  explicit FakeConnector(boost::asio::io_context& io) : io_(io) {}

  void add(UpstreamScript script) {
    upstreams_.push_back(std::make_shared<FakeUpstream>(io_, std::move(script)));
    scripts_.push_back(upstreams_.back());
  }
  /// Every upstream made, in the order the scripts were added.
  const std::vector<std::shared_ptr<FakeUpstream>>& upstreams() const { return scripts_; }
  int connects = 0;

  std::shared_ptr<UpstreamRequest> take_idle(const Endpoint&, bool) override {
    if (upstreams_.empty() || !upstreams_.front()->reused()) return nullptr;
    auto upstream = upstreams_.front();
    upstreams_.pop_front();
    return upstream;
  }
  std::weak_ptr<PendingConnect> connect(const Endpoint&, Deadline,
                                        ConnectHandler handler) override {
    ++connects;
    EXPECT_FALSE(upstreams_.empty()) << "a connect with no upstream scripted";
    std::shared_ptr<FakeUpstream> upstream;
    if (!upstreams_.empty()) {
      upstream = upstreams_.front();
      upstreams_.pop_front();
    }
    const bool fails = !upstream || refusing_.count(upstream.get()) != 0;
    boost::asio::post(io_, [handler = std::move(handler), upstream, fails]() mutable {
      if (fails) return handler(boost::asio::error::connection_refused, nullptr);
      handler({}, upstream);
    });
    return {};
  }
  void close_idle() override {}
  /// `upstream`'s connect fails.
  void refuse(const FakeUpstream* upstream) { refusing_.insert(upstream); }

 private:
  boost::asio::io_context& io_;
  std::deque<std::shared_ptr<FakeUpstream>> upstreams_;
  std::vector<std::shared_ptr<FakeUpstream>> scripts_;
  std::set<const FakeUpstream*> refusing_;
};

/// A worker serving `yaml` whose backends are a FakeConnector, run on the test's thread.
class RequestRun {
 public:
  explicit RequestRun(std::string_view yaml) : worker_(0, nullptr, nullptr, ClientTimeouts{}) {
    auto result = core::build_snapshot(config::load_config_text(yaml, "test.yaml"), 1);
    EXPECT_TRUE(result.snapshot) << (result.errors.empty() ? "" : result.errors[0].message);
    auto generation = std::make_shared<Generation>();
    generation->snapshot = result.snapshot;
    worker_.set_generation(std::move(generation));
    auto connector = std::make_unique<FakeConnector>(worker_.io_context());
    connector_ = connector.get();
    worker_.set_upstreams(std::move(connector));
  }
  ~RequestRun() {
    for (const auto& weak : clients_) {
      if (auto client = weak.lock()) client->drop_pending_read();
    }
  }
  RequestRun(const RequestRun&) = delete;
  RequestRun& operator=(const RequestRun&) = delete;

  Worker& worker() { return worker_; }
  FakeConnector& backends() { return *connector_; }
  void add_backend(UpstreamScript script) {
    if (script.connect_fails) {
      connector_->add(script);
      connector_->refuse(connector_->upstreams().back().get());
      return;
    }
    connector_->add(std::move(script));
  }
  std::shared_ptr<FakeStream> client(const std::string& forwarding_rule = "http-rule") {
    auto client = std::make_shared<FakeStream>(worker_, forwarding_rule);
    clients_.push_back(client);
    return client;
  }

  /// Runs the worker's io_context until `done` holds or `timeout` passes; returns `done()`.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto& io = worker_.io_context();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  /// Runs every handler that is ready, without waiting for timers.
  void settle() {
    auto& io = worker_.io_context();
    io.restart();
    io.poll();
  }

 private:
  Worker worker_;
  FakeConnector* connector_ = nullptr;
  std::vector<std::weak_ptr<FakeStream>> clients_;
};

}  // namespace albemu::net::testing
