#include "proxy/cli/h2c_client.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <charconv>
#include <functional>
#include <string>
#include <string_view>

namespace albemu::cli {

namespace {

/// The one request's state, which nghttp2's callbacks fill.
struct H2cGetState {
  nghttp2_session* codec = nullptr;
  std::int32_t stream_id = 0;
  unsigned status = 0;
  std::string body;
  bool done = false;
  bool reset = false;  // the stream ended with an error code

  H2cGetState() = default;
  H2cGetState(const H2cGetState&) = delete;
  H2cGetState& operator=(const H2cGetState&) = delete;
  ~H2cGetState() {
    if (codec != nullptr) nghttp2_session_del(codec);
  }
};

int on_h2c_get_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                      std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                      std::uint8_t, void* user_data) {
  auto& state = *static_cast<H2cGetState*>(user_data);
  if (frame->hd.stream_id != state.stream_id ||
      std::string_view(reinterpret_cast<const char*>(name), name_length) != ":status") {
    return 0;
  }
  const auto* text = reinterpret_cast<const char*>(value);
  std::from_chars(text, text + value_length, state.status);
  return 0;
}

int on_h2c_get_data(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                    const std::uint8_t* data, std::size_t length, void* user_data) {
  auto& state = *static_cast<H2cGetState*>(user_data);
  if (stream_id == state.stream_id) state.body.append(reinterpret_cast<const char*>(data), length);
  return 0;
}

int on_h2c_get_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error,
                     void* user_data) {
  auto& state = *static_cast<H2cGetState*>(user_data);
  if (stream_id != state.stream_id) return 0;
  state.done = true;
  state.reset = error != NGHTTP2_NO_ERROR;
  return 0;
}

}  // namespace

HttpCallResult h2c_get(const HttpUrl& url, std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  HttpCallResult result;
  H2cGetState state;
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    result.error = asio::error::no_memory;
    return result;
  }
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_h2c_get_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_h2c_get_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_h2c_get_close);
  const int created = nghttp2_session_client_new(&state.codec, callbacks, &state);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    state.codec = nullptr;
    result.error = asio::error::no_memory;
    return result;
  }

  const bool ipv6 = url.host.find(':') != std::string::npos;
  const std::string authority = (ipv6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
  const auto field = [](std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
  };
  const nghttp2_nv fields[] = {field(":method", "GET"), field(":scheme", "http"),
                               field(":authority", authority), field(":path", url.path),
                               field("user-agent", "albemu-healthcheck")};
  nghttp2_submit_settings(state.codec, NGHTTP2_FLAG_NONE, nullptr, 0);
  state.stream_id =
      nghttp2_submit_request(state.codec, nullptr, fields, std::size(fields), nullptr, nullptr);

  asio::io_context io_context;
  boost::beast::tcp_stream stream(io_context);
  std::string out;
  std::array<char, 16 * 1024> in{};
  const auto on_error = [&result](const boost::system::error_code& ec) {
    if (ec && !result.error) result.error = ec;
    return !ec;
  };
  const auto protocol_error =
      boost::system::errc::make_error_code(boost::system::errc::protocol_error);
  // Writes what the codec queued, then reads until the stream ends.
  std::function<void()> exchange = [&] {
    out.clear();
    const std::uint8_t* data = nullptr;
    ssize_t n = 0;
    while ((n = nghttp2_session_mem_send(state.codec, &data)) > 0)
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (n < 0) return (void)on_error(protocol_error);
    asio::async_write(stream, asio::buffer(out), [&](auto ec, std::size_t) {
      if (!on_error(ec)) return;
      stream.async_read_some(asio::buffer(in), [&](auto ec, std::size_t size) {
        if (!on_error(ec)) return;
        if (nghttp2_session_mem_recv(state.codec, reinterpret_cast<const std::uint8_t*>(in.data()),
                                     size) < 0)
          return (void)on_error(protocol_error);
        if (!state.done) exchange();
      });
    });
  };
  // One deadline covers resolve, connect, and the exchange (the stream's timer runs throughout).
  stream.expires_after(timeout);
  asio::ip::tcp::resolver resolver(io_context);
  resolver.async_resolve(url.host, url.port, [&](auto ec, auto results) {
    if (!on_error(ec)) return;
    stream.async_connect(results, [&](auto ec, auto) {
      if (on_error(ec)) exchange();
    });
  });
  io_context.run_for(timeout + std::chrono::milliseconds(500));
  if (!result.error && (!state.done || state.reset || state.status == 0)) {
    result.error = state.done ? asio::error::connection_reset : asio::error::timed_out;
  }
  result.response.result(state.status);
  result.response.body() = std::move(state.body);
  return result;
}

}  // namespace albemu::cli
