#include "proxy/net/listener.h"

#include <sys/socket.h>

#include <boost/asio/socket_base.hpp>

#include "proxy/net/http1_connection.h"
#include "proxy/net/worker.h"

namespace albemu::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::chrono::milliseconds kAcceptBackoff{100};
}  // namespace

Listener::Listener(Worker& worker, std::string forwarding_rule, bool https)
    : worker_(worker),
      forwarding_rule_(std::move(forwarding_rule)),
      https_(https),
      acceptor_(worker.io_context()),
      backoff_(worker.io_context()) {}

std::shared_ptr<Listener> Listener::bind(Worker& worker, std::string forwarding_rule, bool https,
                                         const tcp::endpoint& endpoint,
                                         boost::system::error_code& ec) {
  std::shared_ptr<Listener> listener(new Listener(worker, std::move(forwarding_rule), https));
  auto& acceptor = listener->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return nullptr;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return nullptr;
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ec.assign(errno, boost::system::system_category());
    return nullptr;
  }
  acceptor.bind(endpoint, ec);
  if (ec) return nullptr;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return nullptr;
  listener->local_endpoint_ = acceptor.local_endpoint(ec);
  if (ec) return nullptr;
  return listener;
}

void Listener::start() { do_accept(); }

void Listener::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void Listener::do_accept() {
  acceptor_.async_accept(
      worker_.io_context(),
      [self = shared_from_this()](boost::system::error_code ec, ClientSocket socket) {
        self->on_accept(ec, std::move(socket));
      });
}

void Listener::on_accept(boost::system::error_code ec, ClientSocket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (!ec) {
    if (!worker_.draining()) start_session(worker_, forwarding_rule_, https_, std::move(socket));
    return do_accept();
  }
  // EMFILE and friends: the error repeats until something is freed, so accepting again at
  // once would spin the worker. Wait a little; the kernel keeps queueing meanwhile.
  backoff_.expires_after(kAcceptBackoff);
  backoff_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
    if (wait_ec || !self->acceptor_.is_open()) return;
    self->do_accept();
  });
}

}  // namespace albemu::net
