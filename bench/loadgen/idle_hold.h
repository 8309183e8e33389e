#pragma once
// Opens many keepalive connections, sends one request on each, and keeps them all open and
// idle: what the server then holds is the memory cost of idle client connections. Over TLS,
// HTTP/1.1 connections do the same after the handshake; HTTP/2 connections (ALPN h2) send the
// preface and their SETTINGS and are held once the server's SETTINGS arrived.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace albemu::loadgen {

enum class IdleProtocol { http, https, h2 };

struct IdleHoldOptions {
  boost::asio::ip::tcp::endpoint target;
  std::vector<std::string> requests;  // connection i sends requests[i % size]
  int connections = 10000;
  int concurrency = 64;  // connections being opened at once (bounds the server's upstream use)
  /// Connection i binds to 127.0.0.(1 + i % sources) first, when above 1: one source address
  /// has about 28,000 ephemeral ports, so 100,000 connections need at least four.
  int sources = 1;
  IdleProtocol protocol = IdleProtocol::http;
};

struct IdleHoldCounts {
  uint64_t opened = 0;   // connected and answered (HTTP/2: sent its SETTINGS), now held
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
  /// How many held connections the server has not closed: reading what waits on each socket
  /// (TLS session tickets, HTTP/2 frames) ends in would-block rather than EOF or an error.
  /// Consumes those bytes: call after on_all_open, just before close_all.
  uint64_t count_still_open() const;
  void close_all();

 private:
  struct Opening;
  void open_next(std::shared_ptr<Opening> opening);
  void do_handshake(std::shared_ptr<Opening> opening);
  template <class Stream>
  void do_request(std::shared_ptr<Opening> opening, Stream& stream);
  template <class Stream>
  void do_read_answer(std::shared_ptr<Opening> opening, Stream& stream);
  void do_h2_preface(std::shared_ptr<Opening> opening);
  void do_read_h2_settings(std::shared_ptr<Opening> opening);
  void on_done(std::shared_ptr<Opening> opening, bool held);

  boost::asio::io_context& io_context_;
  IdleHoldOptions options_;
  IdleHoldCounts counts_;
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  /// A connection: plain, or TLS (then `tls` and not `plain`).
  struct Connection {
    std::unique_ptr<boost::asio::ip::tcp::socket> plain;
    std::unique_ptr<TlsStream> tls;
    boost::asio::ip::tcp::socket& socket() const { return tls ? tls->next_layer() : *plain; }
  };
  boost::asio::ssl::context tls_context_{boost::asio::ssl::context::tls_client};
  std::vector<Connection> held_;
  std::function<void()> on_all_open_;
  int started_ = 0;
  int done_ = 0;
};

}  // namespace albemu::loadgen
