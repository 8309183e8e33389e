#include "bench/loadgen/open_loop.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cmath>

namespace albemu::loadgen {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

struct OpenLoop::Connection {
  explicit Connection(asio::io_context& io_context) : socket(io_context), retry_timer(io_context) {}
  tcp::socket socket;
  asio::steady_timer retry_timer;  // paces reconnects after a failure
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  Due due{};
};

OpenLoop::OpenLoop(asio::io_context& io_context, OpenLoopOptions options)
    : io_context_(io_context),
      options_(std::move(options)),
      tick_timer_(io_context),
      drain_timer_(io_context) {
  const double seconds = std::chrono::duration<double>(options_.warmup + options_.duration).count();
  const double warmup = std::chrono::duration<double>(options_.warmup).count();
  total_ = static_cast<uint64_t>(std::llround(seconds * options_.rate));
  warmup_count_ = static_cast<uint64_t>(std::llround(warmup * options_.rate));
  result_.scheduled = total_;
  result_.latencies_ns.reserve(total_ - warmup_count_);
}

OpenLoop::~OpenLoop() = default;

void OpenLoop::start() {
  for (int i = 0; i < options_.connections; ++i) {
    connections_.push_back(std::make_unique<Connection>(io_context_));
    connect(*connections_.back());
  }
}

OpenLoop::Clock::time_point OpenLoop::scheduled_time(uint64_t index) const {
  const double offset_ns = static_cast<double>(index) * 1e9 / options_.rate;
  return start_ + std::chrono::nanoseconds(static_cast<int64_t>(offset_ns));
}

void OpenLoop::connect(Connection& connection) {
  connection.socket.async_connect(options_.target, [this, &connection](error_code ec) {
    if (finished_) return;
    if (!ec) {
      connection.socket.set_option(tcp::no_delay(true), ec);
      on_connected(connection);
      return;
    }
    ++result_.errors;
    if (!scheduling_ && next_ == 0) {  // the target is not there at all: give up at once
      finish();
      return;
    }
    error_code ignored;
    connection.socket.close(ignored);
    connection.retry_timer.expires_after(std::chrono::milliseconds(10));
    connection.retry_timer.async_wait([this, &connection](error_code timer_ec) {
      if (!timer_ec && !finished_) connect(connection);
    });
  });
}

void OpenLoop::on_connected(Connection& connection) {
  idle_.push_back(&connection);
  if (!scheduling_ && next_ == 0) {
    if (++connected_initially_ == options_.connections) begin_schedule();
    return;
  }
  dispatch();
}

void OpenLoop::begin_schedule() {
  scheduling_ = true;
  start_ = Clock::now() + std::chrono::milliseconds(1);
  tick_timer_.expires_at(start_);
  tick_timer_.async_wait([this](error_code ec) {
    if (!ec && !finished_) on_tick();
  });
}

void OpenLoop::on_tick() {
  // Everything due by now is queued, however late this timer fired: a busy generator delays
  // sends but never lowers the offered rate or hides the delay from the latencies.
  const Clock::time_point now = Clock::now();
  while (next_ < total_ && scheduled_time(next_) <= now) {
    queue_.push_back(Due{scheduled_time(next_), next_});
    ++next_;
  }
  dispatch();
  if (next_ < total_) {
    tick_timer_.expires_at(scheduled_time(next_));
    tick_timer_.async_wait([this](error_code ec) {
      if (!ec && !finished_) on_tick();
    });
    return;
  }
  scheduling_ = false;
  drain_timer_.expires_at(scheduled_time(total_ - 1) + options_.drain);
  drain_timer_.async_wait([this](error_code ec) {
    if (!ec && !finished_) finish();
  });
  finish_if_done();
}

void OpenLoop::dispatch() {
  while (!idle_.empty() && !queue_.empty()) {
    Connection* connection = idle_.back();
    idle_.pop_back();
    const Due due = queue_.front();
    queue_.pop_front();
    send(*connection, due);
  }
}

void OpenLoop::send(Connection& connection, Due due) {
  connection.due = due;
  ++in_flight_;
  const std::string& request = options_.requests[due.index % options_.requests.size()];
  asio::async_write(connection.socket, asio::buffer(request),
                    [this, &connection](error_code ec, std::size_t) {
                      if (finished_) return;
                      if (ec) return on_failure(connection);
                      do_read_answer(connection);
                    });
}

void OpenLoop::do_read_answer(Connection& connection) {
  connection.response = {};
  http::async_read(connection.socket, connection.buffer, connection.response,
                   [this, &connection](error_code ec, std::size_t) {
                     if (finished_) return;
                     if (ec) return on_failure(connection);
                     on_answer(connection, connection.response.result_int());
                   });
}

void OpenLoop::on_answer(Connection& connection, unsigned status) {
  const Clock::time_point now = Clock::now();
  --in_flight_;
  ++result_.completed;
  if (status < 200 || status > 299) ++result_.non_2xx;
  if (connection.due.index >= warmup_count_) {
    result_.latencies_ns.push_back(static_cast<uint64_t>((now - connection.due.scheduled).count()));
    // A server slower than the rate answers the last requests after the schedule ended: the
    // achieved rate counts the time it took.
    const double seconds =
        std::chrono::duration<double>(now - scheduled_time(warmup_count_)).count();
    result_.measured_seconds = std::max(result_.measured_seconds, seconds);
  }
  if (!connection.response.keep_alive()) {
    error_code ignored;
    connection.socket.close(ignored);
    connection.buffer.clear();
    connect(connection);
  } else {
    idle_.push_back(&connection);
    dispatch();
  }
  finish_if_done();
}

void OpenLoop::on_failure(Connection& connection) {
  --in_flight_;
  ++result_.errors;
  error_code ignored;
  connection.socket.close(ignored);
  connection.buffer.clear();
  connect(connection);
  finish_if_done();
}

void OpenLoop::finish_if_done() {
  if (!scheduling_ && next_ == total_ && queue_.empty() && in_flight_ == 0) finish();
}

void OpenLoop::finish() {
  if (finished_) return;
  finished_ = true;
  result_.unfinished = queue_.size() + in_flight_;
  result_.measured_seconds =
      std::max(result_.measured_seconds, std::chrono::duration<double>(options_.duration).count());
  tick_timer_.cancel();
  drain_timer_.cancel();
  for (auto& connection : connections_) {
    error_code ignored;
    connection->retry_timer.cancel();
    connection->socket.close(ignored);
  }
}

}  // namespace albemu::loadgen
