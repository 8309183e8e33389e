#pragma once
// Opens many keepalive connections, sends one request on each, and keeps them all open and
// idle: what the server then holds is the memory cost of idle client connections.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace albemu::loadgen {

struct IdleHoldOptions {
  boost::asio::ip::tcp::endpoint target;
  std::vector<std::string> requests;  // connection i sends requests[i % size]
  int connections = 10000;
  int concurrency = 64;  // connections being opened at once (bounds the server's upstream use)
  /// Connection i binds to 127.0.0.(1 + i % sources) first, when above 1: one source address
  /// has about 28,000 ephemeral ports, so 100,000 connections need at least four.
  int sources = 1;
};

struct IdleHoldCounts {
  uint64_t opened = 0;   // connected and answered 2xx, now held
  uint64_t errors = 0;   // failed to connect, send or read
  uint64_t non_2xx = 0;  // answered, but not 2xx (still held if keepalive)
};

/// Runs on the caller's io_context. `on_all_open` runs once every connection has been tried.
class IdleHold {
 public:
  IdleHold(boost::asio::io_context& io_context, IdleHoldOptions options);
  ~IdleHold();
  IdleHold(const IdleHold&) = delete;
  IdleHold& operator=(const IdleHold&) = delete;

  void start(std::function<void()> on_all_open);
  const IdleHoldCounts& counts() const { return counts_; }
  /// How many held connections the server has not closed (a peek that finds neither EOF nor an
  /// error). Call after on_all_open.
  uint64_t count_still_open() const;
  void close_all();

 private:
  struct Opening;
  void open_next(std::shared_ptr<Opening> opening);
  void do_request(std::shared_ptr<Opening> opening);
  void do_read_answer(std::shared_ptr<Opening> opening);
  void on_done(std::shared_ptr<Opening> opening, bool held);

  boost::asio::io_context& io_context_;
  IdleHoldOptions options_;
  IdleHoldCounts counts_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held_;
  std::function<void()> on_all_open_;
  int started_ = 0;
  int done_ = 0;
};

}  // namespace albemu::loadgen
