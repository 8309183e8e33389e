#include "bench/loadgen/idle_hold.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>

namespace albemu::loadgen {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

/// The client connection preface, then an empty SETTINGS frame.
constexpr std::string_view kH2Preface =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
constexpr std::size_t kH2FrameHeader = 9;
constexpr unsigned char kH2Settings = 0x4;
constexpr unsigned char kH2Ack = 0x1;

}  // namespace

/// One connection being opened: connect, (handshake,) one request and its answer, or the
/// HTTP/2 preface and the server's SETTINGS.
struct IdleHold::Opening {
  Connection connection;
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  int index = 0;
};

IdleHold::IdleHold(asio::io_context& io_context, IdleHoldOptions options)
    : io_context_(io_context), options_(std::move(options)) {
  held_.reserve(static_cast<std::size_t>(options_.connections));
  tls_context_.set_verify_mode(asio::ssl::verify_none);  // the bench's own certificate
  const std::string_view alpn =
      options_.protocol == IdleProtocol::h2 ? std::string_view("\x02h2") : "\x08http/1.1";
  SSL_CTX_set_alpn_protos(tls_context_.native_handle(),
                          reinterpret_cast<const unsigned char*>(alpn.data()),
                          static_cast<unsigned>(alpn.size()));
}

IdleHold::~IdleHold() = default;

void IdleHold::start(std::function<void()> on_all_open) {
  on_all_open_ = std::move(on_all_open);
  if (options_.connections == 0) {
    on_all_open_();
    return;
  }
  const int lanes = std::min(options_.concurrency, options_.connections);
  for (int i = 0; i < lanes; ++i) open_next(std::make_shared<Opening>());
}

void IdleHold::open_next(std::shared_ptr<Opening> opening) {
  opening->index = started_++;
  Connection& connection = opening->connection;
  if (options_.protocol == IdleProtocol::http) {
    connection.plain = std::make_unique<tcp::socket>(io_context_);
  } else {
    connection.tls = std::make_unique<TlsStream>(io_context_, tls_context_);
  }
  if (options_.sources > 1) {
    error_code ec;
    const auto source = asio::ip::make_address_v4(
        0x7f000001u + static_cast<unsigned>(opening->index % options_.sources));
    connection.socket().open(tcp::v4(), ec);
    if (!ec) connection.socket().bind(tcp::endpoint(source, 0), ec);
    if (ec) return on_done(opening, false);
  }
  connection.socket().async_connect(options_.target, [this, opening](error_code ec) {
    if (ec) return on_done(opening, false);
    if (opening->connection.tls) return do_handshake(opening);
    do_request(opening, *opening->connection.plain);
  });
}

void IdleHold::do_handshake(std::shared_ptr<Opening> opening) {
  opening->connection.tls->async_handshake(asio::ssl::stream_base::client,
                                           [this, opening](error_code ec) {
                                             if (ec) return on_done(opening, false);
                                             if (options_.protocol == IdleProtocol::h2)
                                               return do_h2_preface(opening);
                                             do_request(opening, *opening->connection.tls);
                                           });
}

void IdleHold::do_h2_preface(std::shared_ptr<Opening> opening) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(opening->connection.tls->native_handle(), &protocol, &length);
  if (std::string_view(reinterpret_cast<const char*>(protocol), length) != "h2") {
    return on_done(opening, false);  // the server did not choose HTTP/2
  }
  asio::async_write(*opening->connection.tls, asio::buffer(kH2Preface),
                    [this, opening](error_code ec, std::size_t) {
                      if (ec) return on_done(opening, false);
                      do_read_h2_settings(opening);
                    });
}

/// Reads frames until the server's SETTINGS (not an acknowledgement) has come.
void IdleHold::do_read_h2_settings(std::shared_ptr<Opening> opening) {
  auto& buffer = opening->buffer;
  while (buffer.size() >= kH2FrameHeader) {
    const auto* frame = static_cast<const unsigned char*>(buffer.data().data());
    const std::size_t length =
        (std::size_t{frame[0]} << 16) | (std::size_t{frame[1]} << 8) | std::size_t{frame[2]};
    if (buffer.size() < kH2FrameHeader + length) break;
    if (frame[3] == kH2Settings && (frame[4] & kH2Ack) == 0) {
      return on_done(opening, true);
    }
    buffer.consume(kH2FrameHeader + length);
  }
  opening->connection.tls->async_read_some(buffer.prepare(4096),
                                           [this, opening](error_code ec, std::size_t n) {
                                             if (ec) return on_done(opening, false);
                                             opening->buffer.commit(n);
                                             do_read_h2_settings(opening);
                                           });
}

template <class Stream>
void IdleHold::do_request(std::shared_ptr<Opening> opening, Stream& stream) {
  const std::string& request =
      options_.requests[static_cast<std::size_t>(opening->index) % options_.requests.size()];
  asio::async_write(stream, asio::buffer(request),
                    [this, opening, &stream](error_code ec, std::size_t) {
                      if (ec) return on_done(opening, false);
                      do_read_answer(opening, stream);
                    });
}

template <class Stream>
void IdleHold::do_read_answer(std::shared_ptr<Opening> opening, Stream& stream) {
  http::async_read(stream, opening->buffer, opening->response,
                   [this, opening](error_code ec, std::size_t) {
                     if (ec) return on_done(opening, false);
                     const unsigned status = opening->response.result_int();
                     if (status < 200 || status > 299) ++counts_.non_2xx;
                     on_done(opening, opening->response.keep_alive());
                   });
}

void IdleHold::on_done(std::shared_ptr<Opening> opening, bool held) {
  if (held) {
    ++counts_.opened;
    held_.push_back(std::move(opening->connection));
  } else {
    ++counts_.errors;
  }
  ++done_;
  if (started_ < options_.connections) {
    open_next(std::make_shared<Opening>());
  } else if (done_ == options_.connections) {
    on_all_open_();
  }
}

uint64_t IdleHold::count_still_open() const {
  uint64_t open = 0;
  char drained[4096];
  for (const auto& connection : held_) {
    ssize_t got = 0;
    do {
      got = ::recv(connection.socket().native_handle(), drained, sizeof drained, MSG_DONTWAIT);
    } while (got > 0);
    // Nothing more to read and no error: the server keeps the connection idle and open.
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
  }
  return open;
}

void IdleHold::close_all() {
  for (auto& connection : held_) {
    error_code ignored;
    connection.socket().close(ignored);
  }
  held_.clear();
}

}  // namespace albemu::loadgen
