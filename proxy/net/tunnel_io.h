#pragma once
// One end of a tunnel: after a 101 Switching Protocols (a WebSocket), bytes flow both ways
// untouched. The client's stream and the backend's connection are each such an end.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace albemu::net {

/// Worker thread only. Handlers never run inline.
class TunnelIo {
 public:
  // Move-only: a handler may own what it captures (the handler it completes, say) and is
  // never copied on the way.
  using SizeHandler = std::move_only_function<void(boost::system::error_code, std::size_t)>;
  using Deadline = std::chrono::steady_clock::time_point;

  /// Bytes that arrived after the head, not taken yet.
  virtual std::string_view tunnel_pending() = 0;
  virtual void tunnel_consumed(std::size_t bytes) = 0;
  /// Reads or writes raw bytes; the end closes when `deadline` passes first.
  virtual void read_tunnel(char* data, std::size_t size, Deadline deadline,
                           SizeHandler handler) = 0;
  virtual void write_tunnel(const char* data, std::size_t size, Deadline deadline,
                            SizeHandler handler) = 0;

 protected:
  ~TunnelIo() = default;
};

}  // namespace albemu::net
