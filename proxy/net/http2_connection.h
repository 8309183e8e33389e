#pragma once
// HTTP/2 client connections (http2_session.h over a socket). A TLS connection whose client
// chose h2 by ALPN is handed over here after its handshake.

#include <memory>

#include "proxy/net/http1_connection.h"
#include "proxy/net/request_context.h"
#include "proxy/net/tls_socket.h"

namespace albemu::net {

class ServerTls;
class Worker;

using ClientTlsStream = TlsSocket;

/// Worker thread. Serves HTTP/2 on a TLS connection whose handshake is done (`info` carries
/// its SNI, version and cipher) until the client, the idle timeout or a drain closes it.
void start_http2(Worker& worker, ClientTlsStream stream, ConnectionInfo info,
                 std::shared_ptr<ServerTls> tls);

}  // namespace albemu::net
