#include "proxy/net/http2_connection.h"

#include "proxy/net/http2_connection_impl.h"
#include "proxy/net/tls_context.h"

namespace albemu::net {

void start_http2(Worker& worker, ClientTlsStream stream, ConnectionInfo info,
                 std::shared_ptr<ServerTls> tls) {
  auto connection = std::make_shared<Http2Connection<ClientTlsStream>>(
      worker, std::move(stream), std::move(info), std::move(tls));
  connection->start();
}

}  // namespace albemu::net
