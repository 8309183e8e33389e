#pragma once
// HTTP/1.x client connections. The connection is a template over the plain and the TLS stream
// (http1_connection.cc); the listener only needs this entry point.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace albemu::net {

class Worker;

/// An accepted client connection, bound to the io_context's own executor type (no type-erased
/// executor on the request path).
using ClientSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

/// Worker thread. Takes an accepted connection of `forwarding_rule` and serves HTTP/1.x on it
/// (after a TLS handshake when `https`) until the client, the idle timeout or a drain closes it.
void start_session(Worker& worker, const std::string& forwarding_rule, bool https,
                   ClientSocket socket);

/// Worker thread. Same as start_session for a connected socket whose addresses are given
/// rather than read from it: a socket that is not TCP, such as one end of a socketpair(), as
/// the session fuzz target (tests/fuzz) feeds it.
void start_session_with_addresses(Worker& worker, const std::string& forwarding_rule, bool https,
                                  ClientSocket socket, std::string client_ip, std::string local_ip);

}  // namespace albemu::net
