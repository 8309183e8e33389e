#include "proxy/cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace albemu::cli {

namespace http = boost::beast::http;

std::optional<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  out.port = "80";
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':'))
      out.port = std::string(authority.substr(1));
    else if (!authority.empty())
      return std::nullopt;
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  return out;
}

HttpCallResult http_call(http::request<http::string_body> request, const HttpUrl& url,
                         std::chrono::milliseconds timeout) {
  HttpCallResult result;
  const bool ipv6 = url.host.find(':') != std::string::npos;
  request.set(http::field::host, (ipv6 ? "[" + url.host + "]" : url.host) + ":" + url.port);
  request.set(http::field::connection, "close");
  request.prepare_payload();

  boost::asio::io_context io_context;
  boost::beast::tcp_stream stream(io_context);
  boost::beast::flat_buffer buffer;
  const auto on_error = [&result](const boost::system::error_code& ec) {
    if (ec && !result.error) result.error = ec;
    return !ec;
  };
  // One deadline covers resolve, connect, write and read (the stream's timer runs throughout).
  stream.expires_after(timeout);
  boost::asio::ip::tcp::resolver resolver(io_context);
  resolver.async_resolve(url.host, url.port, [&](auto ec, auto results) {
    if (!on_error(ec)) return;
    stream.async_connect(results, [&](auto ec, auto) {
      if (!on_error(ec)) return;
      http::async_write(stream, request, [&](auto ec, std::size_t) {
        if (!on_error(ec)) return;
        http::async_read(stream, buffer, result.response,
                         [&](auto ec, std::size_t) { on_error(ec); });
      });
    });
  });
  io_context.run_for(timeout + std::chrono::milliseconds(500));
  if (!result.error && result.response.result_int() == 0)
    result.error = boost::asio::error::timed_out;
  return result;
}

}  // namespace albemu::cli
