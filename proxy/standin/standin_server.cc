#include "proxy/standin/standin_server.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/optional.hpp>
#include <chrono>
#include <thread>

#include "proxy/net/http_date.h"
#include "proxy/standin/h2c_standin_session.h"
#include "proxy/standin/standin_session.h"

namespace albemu::standin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// A request body that is only counted, never stored: memory stays flat for any body size.
struct CountingBody {
  using value_type = std::uint64_t;

  class reader {  // NOLINT(readability-identifier-naming): Beast's Body concept's name
   public:
    template <bool is_request, class Fields>
    reader(http::header<is_request, Fields>&, value_type& count) : count_(count) {}
    void init(const boost::optional<std::uint64_t>&, error_code& ec) {
      count_ = 0;
      ec = {};
    }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      const std::size_t size = asio::buffer_size(buffers);
      count_ += size;
      ec = {};
      return size;
    }
    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& count_;
  };
};

/// A response body of N bytes of 'x', produced in fixed chunks (sent chunked: no size()).
struct RepeatedBody {
  using value_type = std::uint64_t;

  class writer {  // NOLINT(readability-identifier-naming): Beast's Body concept's name
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool is_request, class Fields>
    writer(const http::header<is_request, Fields>&, const value_type& size) : remaining_(size) {}
    void init(error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec) {
      ec = {};
      if (remaining_ == 0) return boost::none;
      static const std::array<char, 16384> kChunk = [] {
        std::array<char, 16384> bytes{};
        bytes.fill('x');
        return bytes;
      }();
      const std::uint64_t size = std::min<std::uint64_t>(remaining_, kChunk.size());
      remaining_ -= size;
      return std::make_pair(asio::const_buffer(kChunk.data(), size), remaining_ > 0);
    }

   private:
    std::uint64_t remaining_;
  };
};

std::optional<std::uint64_t> header_number(const http::fields& fields, std::string_view name) {
  const auto found = fields.find(name);
  if (found == fields.end()) return std::nullopt;
  return hook_number(found->value());
}

/// One WebSocket connection: echoes every message back as it came (text or binary).
class WebSocketSession : public Session, public std::enable_shared_from_this<WebSocketSession> {
 public:
  explicit WebSocketSession(beast::tcp_stream&& stream) : ws_(std::move(stream)) {}

  void close_from_outside() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  template <class Request>
  void run(const Request& request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept(request, [self = shared_from_this()](error_code ec) {
      if (!ec) self->do_read();
    });
  }

 private:
  void do_read() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) return;  // closed by the peer, or failed: either way the session ends
    ws_.text(ws_.got_text());
    ws_.async_write(buffer_.data(), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return;
      self->buffer_.consume(self->buffer_.size());
      self->do_read();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

/// One HTTP/1.1 connection: read a request (body counted), apply the test hooks, answer.
class HttpSession : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<SharedState> shared)
      : stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        timer_(executor_),
        shared_(std::move(shared)) {}

  void start() { do_read_header(); }

  void close_from_outside() override {
    asio::post(executor_, [self = shared_from_this()] { self->close(); });
  }

  /// Closes the connection; pending operations complete with an error.
  void close() {
    error_code ignored;
    timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void do_read_header() {
    parser_.emplace();
    parser_->body_limit(boost::none);  // the body is only counted
    parser_->header_limit(64 * 1024);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read_header(ec); });
  }

  void on_read_header(error_code ec) {
    if (ec) return close();
    if (websocket::is_upgrade(parser_->get())) {
      auto session = std::make_shared<WebSocketSession>(std::move(stream_));
      shared_->remember(session);
      session->run(parser_->get());
      return;
    }
    const auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue")) {
      // Clients that wait for it (curl with large bodies) would otherwise stall a second.
      auto continue_response =
          std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *continue_response,
                        [self = shared_from_this(), continue_response](error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->do_read_body();
                        });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read_body(ec); });
  }

  void on_read_body(error_code ec) {
    if (ec) return close();
    const auto& request = parser_->get();
    const auto delay = header_number(request, "x-standin-delay-ms");
    if (delay && *delay > 0) {
      timer_.expires_after(std::chrono::milliseconds(*delay));
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec) return;  // closed meanwhile
        self->respond();
      });
      return;
    }
    respond();
  }

  void respond() {
    const auto& request = parser_->get();
    shared_->requests_served.fetch_add(1, std::memory_order_relaxed);
    const bool keep_alive = request.keep_alive();

    auto status = http::status::ok;
    if (const auto found = request.find("x-standin-status"); found != request.end()) {
      if (const auto code = hook_status(found->value())) status = static_cast<http::status>(*code);
    }
    const bool bodyless =
        status == http::status::no_content || status == http::status::not_modified;

    if (const auto bytes = header_number(request, "x-standin-response-bytes"); bytes && !bodyless) {
      auto response = std::make_shared<http::response<RepeatedBody>>(status, request.version());
      response->set(http::field::content_type, "application/octet-stream");
      add_identity_headers(*response);
      response->body() = *bytes;
      response->chunked(true);
      response->keep_alive(keep_alive);
      write(response, keep_alive);
      return;
    }

    auto response = std::make_shared<http::response<http::string_body>>(status, request.version());
    add_identity_headers(*response);
    response->keep_alive(keep_alive);
    if (!bodyless) {
      net::EchoRequest echo;
      echo.method = request.method_string();
      echo.target = request.target();
      for (const auto& field : request)
        echo.headers.emplace_back(field.name_string(), field.value());
      echo.body_length = request.body();
      response->set(http::field::content_type, "application/json");
      response->body() = net::echo_json(shared_->identity, echo);
      response->prepare_payload();
    }
    write(response, keep_alive);
  }

  template <class Response>
  void add_identity_headers(Response& response) const {
    response.set(http::field::server, "albemu-standin");
    response.set(http::field::date, net::http_date());
    response.set("x-standin-service", shared_->identity.service);
    if (!shared_->identity.tag.empty()) response.set("x-standin-tag", shared_->identity.tag);
  }

  template <class Response>
  void write(const std::shared_ptr<Response>& response, bool keep_alive) {
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response, keep_alive](error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->do_read_header();
        });
  }

  beast::tcp_stream stream_;
  beast::tcp_stream::executor_type executor_;  // kept: stream_ moves away on an upgrade
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<CountingBody>> parser_;
  std::shared_ptr<SharedState> shared_;
};

}  // namespace

/// The listening socket and the sessions it started. Lives on its io_context's thread.
class StandinServerImpl : public std::enable_shared_from_this<StandinServerImpl> {
 public:
  StandinServerImpl(asio::io_context& io_context, StandinOptions options)
      : io_context_(io_context),
        acceptor_(io_context),
        host_(std::move(options.host)),
        requested_port_(options.port),
        http2_(options.http2),
        shared_(std::make_shared<SharedState>()) {
    shared_->identity = std::move(options.identity);
  }

  error_code open() {
    error_code ec;
    const auto address = asio::ip::make_address(host_, ec);
    if (ec) return ec;
    const tcp::endpoint endpoint(address, requested_port_);
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      return ec;
    }
    bound_port_ = acceptor_.local_endpoint(ec).port();
    return ec;
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(io_context_), [self = shared_from_this()](
                                                               error_code ec, tcp::socket socket) {
      if (ec) return;  // acceptor closed
      if (self->http2_) {
        // Like a Cloud Run service deployed with --use-http2: h2c with prior knowledge only.
        if (auto session = start_h2c_session(std::move(socket), self->shared_))
          self->shared_->remember(session);
      } else {
        auto session = std::make_shared<HttpSession>(std::move(socket), self->shared_);
        self->shared_->remember(session);
        session->start();
      }
      self->do_accept();
    });
  }

  /// Runs on the io_context: closes the listener and every session still alive.
  void close_all() {
    error_code ignored;
    acceptor_.close(ignored);
    shared_->close_all();
  }

  std::uint16_t port() const { return bound_port_; }
  const std::string& host() const { return host_; }
  std::uint64_t requests_served() const { return shared_->requests_served.load(); }
  asio::io_context& io_context() { return io_context_; }

 private:
  asio::io_context& io_context_;
  tcp::acceptor acceptor_;
  std::string host_;
  std::uint16_t requested_port_;
  std::uint16_t bound_port_ = 0;
  bool http2_;
  std::shared_ptr<SharedState> shared_;
};

/// The own-thread mode: the io_context outlives the impl (declared first, destroyed last).
struct OwnedStandin {
  struct {
    asio::io_context io_context{1};
    std::thread thread;
  } own;
  std::shared_ptr<StandinServerImpl> impl;
};

StandinServer::StandinServer(asio::io_context& io_context, StandinOptions options)
    : impl_(std::make_shared<StandinServerImpl>(io_context, std::move(options))) {}

StandinServer::StandinServer(StandinOptions options) {
  auto owned = std::make_shared<OwnedStandin>();
  owned->impl = std::make_shared<StandinServerImpl>(owned->own.io_context, std::move(options));
  owned_ = owned;
  impl_ = owned->impl;
}

StandinServer::~StandinServer() { stop(); }

error_code StandinServer::start() {
  if (const auto ec = impl_->open()) return ec;
  impl_->do_accept();
  if (owned_) {
    owned_->own.thread = std::thread([owned = owned_.get()] { owned->own.io_context.run(); });
  }
  return {};
}

void StandinServer::stop() {
  if (!impl_) return;
  asio::dispatch(impl_->io_context(), [impl = impl_] { impl->close_all(); });
  if (owned_) {
    // Sessions may still hold handlers (a delayed answer): stop the loop rather than wait.
    owned_->own.io_context.stop();
    if (owned_->own.thread.joinable()) owned_->own.thread.join();
    // Everything that lives on the io_context goes before it (the acceptor's destructor
    // deregisters from the io_context's reactor).
    owned_->impl.reset();
    impl_.reset();
    owned_.reset();
    return;
  }
  impl_.reset();
}

std::uint16_t StandinServer::port() const { return impl_ ? impl_->port() : 0; }

std::string StandinServer::address() const {
  if (!impl_) return {};
  const std::string& host = impl_->host();
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port());
}

std::uint64_t StandinServer::requests_served() const {
  return impl_ ? impl_->requests_served() : 0;
}

}  // namespace albemu::standin
