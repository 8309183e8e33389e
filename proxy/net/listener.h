#pragma once
// One forwarding rule's accepting socket on one worker (SO_REUSEPORT: every worker has its
// own socket on the same address and the kernel spreads connections).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "proxy/net/http1_connection.h"

namespace albemu::net {

class Worker;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  /// Main thread. Opens and binds `address:port` with SO_REUSEADDR and SO_REUSEPORT and
  /// listens; the socket belongs to `worker`'s io_context but no operation starts yet.
  static std::shared_ptr<Listener> bind(Worker& worker, std::string forwarding_rule, bool https,
                                        const boost::asio::ip::tcp::endpoint& endpoint,
                                        boost::system::error_code& ec);

  /// Worker thread. Starts the accept loop.
  void start();
  /// Worker thread. Stops accepting and closes the socket.
  void close();

  /// The address actually bound (the kernel's port when 0 was asked).
  const boost::asio::ip::tcp::endpoint& local_endpoint() const { return local_endpoint_; }

 private:
  Listener(Worker& worker, std::string forwarding_rule, bool https);
  void do_accept();
  void on_accept(boost::system::error_code ec, ClientSocket socket);

  Worker& worker_;
  std::string forwarding_rule_;
  bool https_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint local_endpoint_;
  /// Delays the next accept after a failed one (EMFILE would otherwise spin the worker).
  boost::asio::steady_timer backoff_;
};

}  // namespace albemu::net
