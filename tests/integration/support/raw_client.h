#pragma once
// A blocking client connection to 127.0.0.1 for exchanges curl cannot show step by step
// (trickled bytes, a response cut short, a peer that stops reading). Plain file-descriptor
// calls, so one thread may write while another reads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace albemu::testing {

/// How many times `needle` occurs in `text` (overlapping occurrences count).
inline int count_of(std::string_view text, std::string_view needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class RawClient {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RawClient(uint16_t port);
  ~RawClient() { drop(false); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Writes all of `bytes`; false if the connection refused them.
  bool send(std::string_view bytes);
  void shutdown_send();
  void set_receive_buffer(int bytes);
  /// Closes; with `reset`, by RST (no TIME_WAIT left behind).
  void drop(bool reset);

  /// Reads until `done(received())` holds, the peer closes (then `closed()` is true) or
  /// `deadline` passes. Returns whether `done` or the close happened in time.
  bool read_until(const std::function<bool(const std::string&)>& done, Clock::time_point deadline);
  /// Reads until `text` has arrived (true), the peer closed or `timeout` passed (false).
  bool read_until_text(const std::string& text, Clock::duration timeout);
  /// Reads until the peer closes (true) or `timeout` passes (false).
  bool read_until_closed(Clock::duration timeout);

  bool closed() const { return closed_; }
  /// The peer closed with a reset (ECONNRESET), not with a FIN.
  bool was_reset() const { return reset_; }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  bool reset_ = false;
  std::string received_;
};

}  // namespace albemu::testing
