#pragma once
// One connection of the stand-in in h2c with prior knowledge (StandinOptions::http2), the way
// Cloud Run hands a service deployed with --use-http2 its requests: nghttp2's server session
// frames the streams; each stream is answered with the echo JSON or, for a gRPC call, echoes
// its messages back as they arrive. The test hooks are those of standin_server.h.

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "proxy/standin/standin_session.h"

namespace albemu::standin {

/// Serves `socket` (whose executor is a strand of its own) until the client or stop() closes
/// it. Null if nghttp2 could not be set up (the socket is then closed).
std::shared_ptr<Session> start_h2c_session(boost::asio::ip::tcp::socket socket,
                                           std::shared_ptr<SharedState> shared);

}  // namespace albemu::standin
