#pragma once
// What the stand-in's connections share, whichever protocol they speak (standin_server.cc for
// HTTP/1.1 and WebSocket, h2c_standin_session.cc for h2c): the interface stop() closes them
// through, the state of the server they belong to, and the test hooks' numbers.

#include <atomic>
#include <charconv>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "proxy/net/standin_echo.h"

namespace albemu::standin {

/// A connection stop() must be able to close, whatever protocol it speaks now.
class Session {
 public:
  virtual ~Session() = default;
  /// Any thread: closes the socket on the session's own strand.
  virtual void close_from_outside() = 0;
};

/// State shared by the listener and its sessions; outlives whichever of them goes last.
struct SharedState {
  net::StandinIdentity identity;
  std::atomic<std::uint64_t> requests_served{0};

  /// Sessions alive, for stop(). Sessions run on strands of a possibly multi-threaded
  /// io_context, hence the lock; it is taken once per connection, never per request.
  void remember(const std::shared_ptr<Session>& session) {
    const std::lock_guard lock(mutex);
    sessions.remove_if([](const std::weak_ptr<Session>& weak) { return weak.expired(); });
    sessions.push_back(session);
  }
  void close_all() {
    std::list<std::weak_ptr<Session>> closing;
    {
      const std::lock_guard lock(mutex);
      closing.swap(sessions);
    }
    for (auto& weak : closing) {
      if (auto session = weak.lock()) session->close_from_outside();
    }
  }

  std::mutex mutex;
  std::list<std::weak_ptr<Session>> sessions;
};

/// A test hook's value (x-standin-delay-ms, ...) as a number; nullopt unless it is all digits.
inline std::optional<std::uint64_t> hook_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// The status x-standin-status asks for, if it is one a response can have (200 to 599).
inline std::optional<unsigned> hook_status(std::string_view text) {
  const auto code = hook_number(text);
  if (!code || *code < 200 || *code > 599) return std::nullopt;
  return static_cast<unsigned>(*code);
}

}  // namespace albemu::standin
