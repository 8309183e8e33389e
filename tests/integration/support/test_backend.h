#pragma once
// A small real HTTP backend for integration tests, on its own threads (one per connection,
// blocking I/O: simple and good enough for tests). What it does depends on the path:
// Keywords may follow a service prefix ("/login/slow/100").
//   /status/N        answers status N
//   /slow/MS         answers after MS milliseconds
//   /reset           closes the connection (RST) without answering
//   /partial         announces 1000 bytes, sends 10, closes
//   /bytes/N         answers N bytes ('x'), chunked, written in 64 KiB pieces
//   /bigheader/N     answers 200 with an `x-big` header of N bytes
//   /grpc/N          answers 200 with `grpc-status: N` (and the default body)
//   /gated           (with any other keyword) waits until open_gate() before answering, at
//                    most 10 s
//   /gate-body       announces 20 bytes, sends 10, waits for the gate, sends 10 more
//   /rst-partial     announces 1000 bytes, sends 10, resets the connection (RST)
//   /stall-body/MS   announces 20 bytes, sends 10, waits MS milliseconds, sends 10 more
//   /malformed/K     K = status: garbage status line; header: invalid field name; chunk: a bad
//                    chunk size right after the head; late-chunk: one good chunk, then (after
//                    the gate) a bad one
//   /interim/N       sends an interim N (100, 103) head before the usual answer
//   /continue-first  sends 100 Continue right after the request head, before reading the body
//   /early/N         answers N with "Connection: close" before reading the request body, then
//                    closes; /early-stay/N answers N (keepalive) and stops reading until the
//                    gate opens
//   /early-bytes/N   answers 200 with N bytes (pattern_byte) before reading the request body,
//                    then reads and drops the body and closes; with "/half-gated" after N, the
//                    second half of the bytes waits for the gate
//   /close-after     the usual answer (keepalive), then closes the connection
//   /idle-rst        the usual answer (keepalive), then, once the gate opens, resets the
//                    connection (RST)
//   /drop-if-reused  on a connection that served a request before: reads the request and
//                    closes without answering; otherwise the usual answer
//   anything else    200 with "METHOD TARGET\n" and one "name: value" line per header;
//                    the request body is read and counted ("body-bytes: N" line)
//   Upgrade: websocket  accepts and echoes every message

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace albemu::testing {

/// The byte at `offset` of an "/early-bytes/N" answer.
inline char pattern_byte(std::size_t offset) { return static_cast<char>('a' + offset % 26); }

class TestBackend {
 public:
  explicit TestBackend(std::string name = "backend");
  ~TestBackend();

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Requests whose head was read, in total and per path (without query).
  int requests() const { return requests_.load(); }
  int requests_for(const std::string& path) const;
  /// The head of the last request received (as the default path answers it).
  std::string last_request() const;
  /// Connections accepted so far.
  int connections() const { return connections_.load(); }
  /// Connections whose serving ended (the peer closed, or the backend closed it).
  int connections_ended() const { return connections_ended_.load(); }
  /// Connections closed right after answering a "/close-after" or "/idle-rst" request.
  int closed_after_answer() const { return closed_after_answer_.load(); }
  /// Lets every request waiting for the gate (now or later) go on: "/gated", "/gate-body",
  /// "/early-stay", "/malformed/late-chunk" and "/idle-rst".
  void open_gate();

 private:
  void accept_loop();
  void serve(std::shared_ptr<boost::asio::ip::tcp::socket> socket);
  void close_socket(boost::asio::ip::tcp::socket& socket, boost::system::error_code& ec);
  /// close_socket() with SO_LINGER 0: the peer gets an RST rather than a FIN.
  void reset_socket(boost::asio::ip::tcp::socket& socket, boost::system::error_code& ec);
  void wait_for_gate();

  std::string name_;
  boost::asio::io_context io_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> connections_ended_{0};
  std::atomic<int> closed_after_answer_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int> per_path_;
  std::string last_request_;
  std::condition_variable gate_cv_;
  bool gate_open_ = false;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
};

}  // namespace albemu::testing
