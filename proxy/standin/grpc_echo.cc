#include "proxy/standin/grpc_echo.h"

#include <algorithm>

#include "proxy/standin/standin_session.h"

namespace albemu::standin {

void GrpcFraming::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (remaining_ > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
      remaining_ -= n;
      bytes.remove_prefix(n);
      if (remaining_ == 0) ++messages_;
      continue;
    }
    const std::size_t n = std::min(kPrefixSize - prefix_size_, bytes.size());
    std::copy_n(bytes.data(), n, prefix_ + prefix_size_);
    prefix_size_ += n;
    bytes.remove_prefix(n);
    if (prefix_size_ < kPrefixSize) return;
    prefix_size_ = 0;
    remaining_ = std::uint64_t{prefix_[1]} << 24 | std::uint64_t{prefix_[2]} << 16 |
                 std::uint64_t{prefix_[3]} << 8 | std::uint64_t{prefix_[4]};
    if (remaining_ == 0) ++messages_;  // an empty message is whole with its prefix
  }
}

std::optional<unsigned> grpc_status_code(std::string_view text) {
  const auto code = hook_number(text);
  if (!code || *code > 16) return std::nullopt;
  return static_cast<unsigned>(*code);
}

std::string grpc_percent_encoded(std::string_view text) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && byte != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[byte >> 4]);
      out.push_back(kHexDigits[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace albemu::standin
