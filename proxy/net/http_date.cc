#include "proxy/net/http_date.h"

#include <cstdio>
#include <ctime>

namespace albemu::net {

std::string format_http_date(std::chrono::system_clock::time_point time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  // Names by hand rather than strftime's %a and %b, which follow the process locale.
  char text[32];
  const int size = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                 kDays[utc.tm_wday], utc.tm_mday, kMonths[utc.tm_mon],
                                 utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return std::string(text, size > 0 ? static_cast<std::size_t>(size) : 0);
}

std::string_view http_date() {
  thread_local std::time_t formatted_second = -1;
  thread_local std::string text;
  const auto now = std::chrono::system_clock::now();
  const std::time_t second = std::chrono::system_clock::to_time_t(now);
  if (second != formatted_second) {
    formatted_second = second;
    text = format_http_date(now);
  }
  return text;
}

}  // namespace albemu::net
