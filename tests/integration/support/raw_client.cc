#include "tests/integration/support/raw_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace albemu::testing {

RawClient::RawClient(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool RawClient::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawClient::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

void RawClient::set_receive_buffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void RawClient::drop(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  }
  ::close(fd_);
  fd_ = -1;
}

bool RawClient::read_until(const std::function<bool(const std::string&)>& done,
                           Clock::time_point deadline) {
  char buffer[16384];
  while (!closed_ && !done(received_)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) continue;
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      reset_ = n < 0 && errno == ECONNRESET;
      break;
    }
    received_.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

bool RawClient::read_until_text(const std::string& text, Clock::duration timeout) {
  read_until([&](const std::string& received) { return received.find(text) != std::string::npos; },
             Clock::now() + timeout);
  return received_.find(text) != std::string::npos;
}

bool RawClient::read_until_closed(Clock::duration timeout) {
  return read_until([](const std::string&) { return false; }, Clock::now() + timeout) && closed_;
}

}  // namespace albemu::testing
