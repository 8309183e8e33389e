// `albemu healthcheck`: GETs a URL (by default the admin /healthz) and exits 0 on a 2xx answer.
// Container images have no curl; this is what their HEALTHCHECK runs.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <optional>

#include "proxy/cli/commands.h"
#include "proxy/cli/options.h"

namespace albemu::cli {

namespace po = boost::program_options;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kDefaultUrl = "http://127.0.0.1:9901/healthz";

struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;
};

/// Splits `http://HOST[:PORT][/PATH]`; HOST may be a bracketed IPv6 literal.
std::optional<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
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

}  // namespace

int run_healthcheck(const std::vector<std::string>& args) {
  po::options_description options("albemu healthcheck options");
  options.add_options()("help,h", "show this help")(
      "url", po::value<std::string>()->default_value(std::string(kDefaultUrl)),
      "http:// URL to GET; healthy means a 2xx answer")(
      "timeout-ms", po::value<unsigned>()->default_value(2000), "give up after this long");
  po::variables_map vm;
  if (const auto exit_code = parse_options(
          "healthcheck", "albemu healthcheck [--url URL] [--timeout-ms N]", options, args, vm))
    return *exit_code;
  const std::string url = vm["url"].as<std::string>();
  const auto parsed = parse_http_url(url);
  if (!parsed) {
    std::cerr << "albemu healthcheck: not an http:// URL: " << url << "\n";
    return 2;
  }

  boost::asio::io_context io_context;
  boost::beast::tcp_stream stream(io_context);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  boost::system::error_code failure;
  const auto on_error = [&failure](const boost::system::error_code& ec) {
    if (ec && !failure) failure = ec;
    return !ec;
  };
  stream.expires_after(std::chrono::milliseconds(vm["timeout-ms"].as<unsigned>()));
  boost::asio::ip::tcp::resolver resolver(io_context);
  http::request<http::empty_body> request(http::verb::get, parsed->target, 11);
  const bool ipv6 = parsed->host.find(':') != std::string::npos;
  request.set(http::field::host,
              (ipv6 ? "[" + parsed->host + "]" : parsed->host) + ":" + parsed->port);
  request.set(http::field::user_agent, "albemu-healthcheck");
  request.set(http::field::connection, "close");

  // One deadline covers resolve, connect, write and read (the stream's timer runs throughout).
  resolver.async_resolve(parsed->host, parsed->port, [&](auto ec, auto results) {
    if (!on_error(ec)) return;
    stream.async_connect(results, [&](auto ec, auto) {
      if (!on_error(ec)) return;
      http::async_write(stream, request, [&](auto ec, std::size_t) {
        if (!on_error(ec)) return;
        http::async_read(stream, buffer, response, [&](auto ec, std::size_t) { on_error(ec); });
      });
    });
  });
  io_context.run_for(std::chrono::milliseconds(vm["timeout-ms"].as<unsigned>() + 500));

  if (failure) {
    std::cerr << "albemu healthcheck: " << url << ": " << failure.message() << "\n";
    return 1;
  }
  if (response.result_int() == 0) {
    std::cerr << "albemu healthcheck: " << url << ": no answer\n";
    return 1;
  }
  const unsigned status = response.result_int();
  std::cout << url << ": " << status << "\n";
  return status >= 200 && status < 300 ? 0 : 1;
}

}  // namespace albemu::cli
