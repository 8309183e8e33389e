#pragma once
// The Date field of the answers albemu writes itself (RFC 9110 6.6.1: an origin with a clock
// sends one on every 2xx, 3xx and 4xx answer, and may on the others).

#include <chrono>
#include <string>
#include <string_view>

namespace albemu::net {

/// `time` as an IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::chrono::system_clock::time_point time);

/// The current time as an IMF-fixdate, formatted at most once a second per thread. The view
/// stays valid on the calling thread until its next call.
std::string_view http_date();

}  // namespace albemu::net
