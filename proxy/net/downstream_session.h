#pragma once
// Client connections. The session itself is a template over the plain and the TLS stream
// (downstream_session.cc); the listener only needs this entry point.

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace albemu::net {

class Worker;

/// Worker thread. Takes an accepted connection of `forwarding_rule` and serves HTTP/1.x on it
/// (after a TLS handshake when `https`) until the client, the idle timeout or a drain closes it.
void start_session(Worker& worker, const std::string& forwarding_rule, bool https,
                   boost::asio::ip::tcp::socket socket);

}  // namespace albemu::net
