#pragma once
// The one-shot HTTP/1.1 client of the commands that talk to a running `albemu serve`
// (`healthcheck` to the admin endpoint, `gcloud` to the compute API).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace albemu::cli {

struct HttpUrl {
  std::string host;  // without brackets for an IPv6 literal
  std::string port;  // "80" when the URL names none
  std::string path;  // "/" when the URL names none
};

/// Splits `http://HOST[:PORT][/PATH]`; HOST may be a bracketed IPv6 literal.
std::optional<HttpUrl> parse_http_url(std::string_view url);

struct HttpCallResult {
  boost::system::error_code error;  // resolve, connect, write, read or the deadline
  boost::beast::http::response<boost::beast::http::string_body> response;
};

/// Sends `request` to `url`'s host and port over a fresh connection (setting Host and
/// `Connection: close`) and reads the answer; one deadline covers the whole call.
HttpCallResult http_call(boost::beast::http::request<boost::beast::http::string_body> request,
                         const HttpUrl& url, std::chrono::milliseconds timeout);

}  // namespace albemu::cli
