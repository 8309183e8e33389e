#include "bench/loadgen/idle_hold.h"

#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>

namespace albemu::loadgen {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

/// One connection being opened: connect, one request, its answer.
struct IdleHold::Opening {
  explicit Opening(asio::io_context& io_context)
      : socket(std::make_unique<tcp::socket>(io_context)) {}
  std::unique_ptr<tcp::socket> socket;
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  int index = 0;
};

IdleHold::IdleHold(asio::io_context& io_context, IdleHoldOptions options)
    : io_context_(io_context), options_(std::move(options)) {
  held_.reserve(static_cast<std::size_t>(options_.connections));
}

IdleHold::~IdleHold() = default;

void IdleHold::start(std::function<void()> on_all_open) {
  on_all_open_ = std::move(on_all_open);
  if (options_.connections == 0) {
    on_all_open_();
    return;
  }
  const int lanes = std::min(options_.concurrency, options_.connections);
  for (int i = 0; i < lanes; ++i) open_next(std::make_shared<Opening>(io_context_));
}

void IdleHold::open_next(std::shared_ptr<Opening> opening) {
  opening->index = started_++;
  if (options_.sources > 1) {
    error_code ec;
    const auto source = asio::ip::make_address_v4(
        0x7f000001u + static_cast<unsigned>(opening->index % options_.sources));
    opening->socket->open(tcp::v4(), ec);
    if (!ec) opening->socket->bind(tcp::endpoint(source, 0), ec);
    if (ec) return on_done(opening, false);
  }
  opening->socket->async_connect(options_.target, [this, opening](error_code ec) {
    if (ec) return on_done(opening, false);
    do_request(opening);
  });
}

void IdleHold::do_request(std::shared_ptr<Opening> opening) {
  const std::string& request =
      options_.requests[static_cast<std::size_t>(opening->index) % options_.requests.size()];
  asio::async_write(*opening->socket, asio::buffer(request),
                    [this, opening](error_code ec, std::size_t) {
                      if (ec) return on_done(opening, false);
                      do_read_answer(opening);
                    });
}

void IdleHold::do_read_answer(std::shared_ptr<Opening> opening) {
  http::async_read(*opening->socket, opening->buffer, opening->response,
                   [this, opening](error_code ec, std::size_t) {
                     if (ec) return on_done(opening, false);
                     const unsigned status = opening->response.result_int();
                     if (status < 200 || status > 299) ++counts_.non_2xx;
                     on_done(opening, opening->response.keep_alive());
                   });
}

void IdleHold::on_done(std::shared_ptr<Opening> opening, bool held) {
  if (held) {
    ++counts_.opened;
    held_.push_back(std::move(opening->socket));
  } else {
    ++counts_.errors;
  }
  ++done_;
  if (started_ < options_.connections) {
    open_next(std::make_shared<Opening>(io_context_));
  } else if (done_ == options_.connections) {
    on_all_open_();
  }
}

uint64_t IdleHold::count_still_open() const {
  uint64_t open = 0;
  for (const auto& socket : held_) {
    char byte = 0;
    const ssize_t got = ::recv(socket->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // Nothing to read and no error: the server keeps the connection idle and open.
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
  }
  return open;
}

void IdleHold::close_all() {
  for (auto& socket : held_) {
    error_code ignored;
    socket->close(ignored);
  }
  held_.clear();
}

}  // namespace albemu::loadgen
