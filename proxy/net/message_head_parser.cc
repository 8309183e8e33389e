#include "proxy/net/message_head_parser.h"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <string_view>

namespace albemu::net {

namespace http = boost::beast::http;

template <bool isRequest>
void MessageHeadParser<isRequest>::on_request_impl(http::verb method, string_view method_text,
                                                   string_view target, int version,
                                                   error_code& ec) {
  ec = {};
  if constexpr (isRequest) {
    head_.start_request(method, method_text, target, static_cast<unsigned>(version));
  }
}

template <bool isRequest>
void MessageHeadParser<isRequest>::on_response_impl(int status, string_view reason, int version,
                                                    error_code& ec) {
  ec = {};
  if constexpr (!isRequest) {
    head_.start_response(static_cast<unsigned>(status), reason, static_cast<unsigned>(version));
  }
}

template <bool isRequest>
void MessageHeadParser<isRequest>::on_field_impl(http::field name, string_view name_text,
                                                 string_view value, error_code& ec) {
  ec = {};
  // Trailer fields of a chunked body come here too; the proxy does not pass trailers on.
  if (this->is_header_done()) return;
  if (head_.size() >= field_limit_ || head_.stored_bytes() > kMaxStoredBytes) {
    ec = http::error::header_limit;
    return;
  }
  head_.add_parsed(name, name_text, value);
}

template <bool isRequest>
std::size_t MessageHeadParser<isRequest>::put_head(boost::asio::const_buffer buffer,
                                                   error_code& ec) {
  // Parsing a copy held by the head itself leaves every start-line token, name and value where
  // it already is: the fields are recorded as offsets, never copied one by one. The copy takes
  // what is buffered, up to kAdoptLimit at a time (cheaper than finding the head's end first).
  // Beast takes whole lines and stops after the head, reporting how much it used; when a copy
  // ends inside the head, the next copy starts after the last line Beast took.
  const std::string_view bytes(static_cast<const char*>(buffer.data()), buffer.size());
  std::size_t used = 0;
  while (!this->is_header_done()) {
    const std::string_view rest = bytes.substr(used);
    const std::size_t size = std::min(rest.size(), kAdoptLimit);
    // A head arriving in many small reads would otherwise copy its unparsed tail again and
    // again: past a budget, Beast parses the caller's bytes (tokens are then copied singly).
    if (head_.stored_bytes() + size > kAdoptBudget) break;
    const std::string_view copy = head_.adopt_bytes(rest.substr(0, size));
    const std::size_t n = this->put(boost::asio::buffer(copy.data(), copy.size()), ec);
    used += n;
    // Done, an error, or need_more with nothing left beyond the copy: that is the answer.
    if (ec != boost::beast::http::error::need_more || size == rest.size()) return used;
    // need_more although bytes follow the copy: a line longer than the copy, or simply more
    // head. Without progress, the caller's bytes go to Beast directly.
    if (n == 0) break;
  }
  return used + this->put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
}

template <bool isRequest>
std::size_t MessageHeadParser<isRequest>::take(string_view bytes, error_code& ec) {
  auto& body = head_.body();
  if (body.data == nullptr) {
    ec = http::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(body.size, bytes.size());
  std::copy_n(bytes.data(), n, static_cast<char*>(body.data));
  body.data = static_cast<char*>(body.data) + n;
  body.size -= n;
  ec = n == bytes.size() ? error_code() : error_code(http::error::need_buffer);
  return n;
}

template class MessageHeadParser<true>;
template class MessageHeadParser<false>;

}  // namespace albemu::net
