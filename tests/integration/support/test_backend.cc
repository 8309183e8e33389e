#include "tests/integration/support/test_backend.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>

namespace albemu::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

TestBackend::TestBackend(std::string name) : name_(std::move(name)), acceptor_(io_context_) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { accept_loop(); });
}

TestBackend::~TestBackend() {
  stopping_ = true;
  open_gate();
  boost::system::error_code ignored;
  {
    // A blocking accept() does not return when the socket is closed: wake it with a connection.
    tcp::socket waker(io_context_);
    waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    if (accept_thread_.joinable()) accept_thread_.join();
  }
  acceptor_.close(ignored);
  {
    std::lock_guard lock(mutex_);
    for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  for (auto& thread : threads_) thread.join();
}

int TestBackend::requests_for(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = per_path_.find(path);
  return it == per_path_.end() ? 0 : it->second;
}

std::string TestBackend::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

void TestBackend::open_gate() {
  {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
  }
  gate_cv_.notify_all();
}

void TestBackend::wait_for_gate() {
  std::unique_lock lock(mutex_);
  gate_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return gate_open_; });
}

void TestBackend::close_socket(tcp::socket& socket, boost::system::error_code& ec) {
  // The destructor shuts the sockets down from another thread: both under the mutex.
  std::lock_guard lock(mutex_);
  socket.close(ec);
}

void TestBackend::reset_socket(tcp::socket& socket, boost::system::error_code& ec) {
  socket.set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends an RST
  close_socket(socket, ec);
}

void TestBackend::accept_loop() {
  while (!stopping_) {
    auto socket = std::make_shared<tcp::socket>(io_context_);
    boost::system::error_code ec;
    acceptor_.accept(*socket, ec);
    if (ec) {
      if (stopping_) return;
      continue;
    }
    ++connections_;
    std::lock_guard lock(mutex_);
    sockets_.push_back(socket);
    threads_.emplace_back([this, socket] { serve(socket); });
  }
}

void TestBackend::serve(std::shared_ptr<tcp::socket> socket) {
  struct CountEnd {
    std::atomic<int>& ended;
    ~CountEnd() { ++ended; }
  } count_end{connections_ended_};
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  std::vector<char> chunk(64 * 1024);
  auto write_raw = [&](const std::string& text) { asio::write(*socket, asio::buffer(text), ec); };
  int served = 0;  // requests read on this connection
  for (;;) {
    http::request_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(*socket, buffer, parser, ec);
    if (ec) return;
    auto& request = parser.get();
    std::string target(request.target());
    std::string path = target.substr(0, target.find('?'));
    ++requests_;
    const bool reused_connection = served++ > 0;
    if (path.find("/gated") != std::string::npos) wait_for_gate();
    if (path.find("/continue-first") != std::string::npos) {
      write_raw("HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (auto at = path.find("/early-bytes/"); at != std::string::npos) {
      // Answers N pattern bytes before reading the body, then reads and drops the body (as
      // nginx does for a location that answers without reading it) and closes.
      const std::size_t size = std::stoul(path.substr(at + 13));
      const bool half_gated = path.find("/half-gated") != std::string::npos;
      write_raw("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n");
      for (std::size_t sent = 0; sent < size && !ec;) {
        std::size_t n = std::min(chunk.size(), size - sent);
        if (half_gated && sent < size / 2) n = std::min(n, size / 2 - sent);
        if (half_gated && sent == size / 2) wait_for_gate();
        for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern_byte(sent + i);
        asio::write(*socket, asio::buffer(chunk.data(), n), ec);
        sent += n;
      }
      while (!ec && !parser.is_done()) {
        request.body().data = chunk.data();
        request.body().size = chunk.size();
        http::read(*socket, buffer, parser, ec);
        if (ec == http::error::need_buffer) ec = {};
      }
      close_socket(*socket, ec);
      return;
    }
    if (auto at = path.find("/early"); at != std::string::npos) {
      // Answers before reading the body, as a server refusing an upload does; closing with the
      // body unread resets the connection. "/early-stay/N" keeps the connection open without
      // reading until the gate opens.
      const bool stay = path.compare(at, 12, "/early-stay/") == 0;
      {
        std::lock_guard lock(mutex_);
        ++per_path_[path];
      }
      write_raw("HTTP/1.1 " + path.substr(path.find('/', at + 1) + 1) +
                " Early\r\nContent-Length: 5\r\n" + (stay ? "" : "Connection: close\r\n") +
                "\r\nearly");
      if (stay) wait_for_gate();
      close_socket(*socket, ec);
      return;
    }

    if (beast::websocket::is_upgrade(request)) {
      http::request<http::empty_body> upgrade(request.base());
      beast::websocket::stream<tcp::socket&> ws(*socket);
      ws.accept(upgrade, ec);
      if (ec) return;
      beast::flat_buffer message;
      for (;;) {
        ws.read(message, ec);
        if (ec) return;
        ws.text(ws.got_text());
        ws.write(message.data(), ec);
        if (ec) return;
        message.clear();
      }
    }

    std::size_t body_bytes = 0;
    while (!parser.is_done()) {
      request.body().data = chunk.data();
      request.body().size = chunk.size();
      http::read(*socket, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return;
      body_bytes += chunk.size() - request.body().size;
    }

    std::string head = std::string(request.method_string()) + " " + target + "\n";
    for (const auto& field : request) {
      head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\n";
    }
    head += "body-bytes: " + std::to_string(body_bytes) + "\n";
    {
      std::lock_guard lock(mutex_);
      ++per_path_[path];
      last_request_ = head;
    }

    http::response<http::string_body> response(http::status::ok, 11);
    response.set("x-backend-name", name_);
    response.keep_alive(request.keep_alive());
    // The behaviour keyword may follow a service prefix ("/login/slow/100").
    auto keyword_at = [&](std::string_view keyword) { return path.find(keyword); };
    if (keyword_at("/reset") != std::string::npos) {
      reset_socket(*socket, ec);
      return;
    }
    if (keyword_at("/drop-if-reused") != std::string::npos && reused_connection) {
      close_socket(*socket, ec);
      return;
    }
    if (keyword_at("/rst-partial") != std::string::npos) {
      write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
      reset_socket(*socket, ec);
      return;
    }
    if (auto at = keyword_at("/stall-body/"); at != std::string::npos) {
      write_raw("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(path.substr(at + 12))));
      write_raw("abcdefghij");
      if (ec || !request.keep_alive()) return;
      continue;
    }
    if (keyword_at("/gate-body") != std::string::npos) {
      write_raw("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789");
      wait_for_gate();
      write_raw("abcdefghij");
      if (ec || !request.keep_alive()) return;
      continue;
    }
    if (auto at = keyword_at("/malformed/"); at != std::string::npos) {
      const std::string kind = path.substr(at + 11);
      if (kind == "status") {
        write_raw("HTTP/1.1 OK 200\r\nContent-Length: 2\r\n\r\nok");
      } else if (kind == "header") {
        write_raw("HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 2\r\n\r\nok");
      } else if (kind == "chunk") {
        write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
      } else if (kind == "late-chunk") {
        write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        wait_for_gate();
        write_raw("zz\r\nbad\r\n0\r\n\r\n");
      }
      close_socket(*socket, ec);
      return;
    }
    if (auto at = keyword_at("/interim/"); at != std::string::npos) {
      write_raw("HTTP/1.1 " + path.substr(at + 9) + " Interim\r\nLink: </style.css>\r\n\r\n");
      if (ec) return;
    }
    if (keyword_at("/partial") != std::string::npos) {
      std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
      asio::write(*socket, asio::buffer(text), ec);
      close_socket(*socket, ec);
      return;
    }
    if (auto at = keyword_at("/bigheader/"); at != std::string::npos) {
      // Written raw: Beast itself refuses to hold a field value of 64 KiB or more.
      std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nx-big: " +
                         std::string(std::stoull(path.substr(at + 11)), 'b') + "\r\n\r\nok";
      asio::write(*socket, asio::buffer(text), ec);
      if (ec || !request.keep_alive()) return;
      continue;
    }
    if (auto at = keyword_at("/grpc/"); at != std::string::npos) {
      // HTTP 200 with the gRPC status of the path in a grpc-status header.
      response.set("grpc-status", path.substr(at + 6));
      response.set(http::field::content_type, "application/grpc");
    }
    if (auto at = keyword_at("/slow/"); at != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(path.substr(at + 6))));
    }
    if (auto at = keyword_at("/status/"); at != std::string::npos) {
      response.result(static_cast<unsigned>(std::stoi(path.substr(at + 8))));
    }
    if (auto at = keyword_at("/bytes/"); at != std::string::npos) {
      std::size_t total = std::stoull(path.substr(at + 7));
      http::response<http::buffer_body> streamed(http::status::ok, 11);
      streamed.set("x-backend-name", name_);
      streamed.chunked(true);
      streamed.keep_alive(request.keep_alive());
      http::response_serializer<http::buffer_body> serializer(streamed);
      http::write_header(*socket, serializer, ec);
      if (ec) return;
      std::fill(chunk.begin(), chunk.end(), 'x');
      while (total > 0) {
        std::size_t n = std::min(total, chunk.size());
        total -= n;
        streamed.body() = {chunk.data(), n, true};
        http::write(*socket, serializer, ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return;
      }
      streamed.body() = {nullptr, 0, false};
      http::write(*socket, serializer, ec);
      if (ec) return;
      if (!request.keep_alive()) return;
      continue;
    }
    response.body() = head;
    response.prepare_payload();
    http::write(*socket, response, ec);
    // A keepalive answer, then the backend drops the connection anyway (an idle timeout that
    // struck at once): the proxy's pooled connection is dead when it next uses it. /idle-rst
    // resets it instead, once the test says the answer has gone through the proxy.
    const bool reset = keyword_at("/idle-rst") != std::string::npos;
    if (reset || keyword_at("/close-after") != std::string::npos) {
      if (reset) {
        wait_for_gate();
        reset_socket(*socket, ec);
      } else {
        close_socket(*socket, ec);
      }
      ++closed_after_answer_;
      return;
    }
    if (ec || !request.keep_alive()) return;
  }
}

}  // namespace albemu::testing
