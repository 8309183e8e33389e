// Http2Session without sockets: a client's frames are handed to the session as one read would
// hand them, and what it writes is recorded (MemoryConnection). The worker serves the demo
// config, whose services are built-in stand-ins that answer at once.

#include "proxy/net/http2_session.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/embedded_demo.h"
#include "tests/proxy/net/fake_request.h"

namespace albemu::net::testing {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6,
                       kGoaway = 0x7;
constexpr std::uint32_t kCancel = 0x8, kEnhanceYourCalm = 0xb;
constexpr std::uint8_t kEndStream = 0x1, kEndHeaders = 0x4;

std::string be32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream_id,
                  std::string_view payload = {}) {
  std::string out = be32(static_cast<std::uint32_t>(payload.size())).substr(1);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  out += be32(stream_id);
  out += payload;
  return out;
}

/// HEADERS of a GET for `path`, whole, ending the stream unless `end_stream` is false. The
/// block uses HPACK's static table only (:method GET, :scheme https, then :authority and :path
/// as literals).
std::string get(std::uint32_t stream_id, std::string_view path, bool end_stream = true) {
  std::string block = "\x82\x87";
  block += '\x01';  // :authority, a literal without indexing
  block += static_cast<char>(14);
  block += "127.0.0.1:8080";
  block += '\x04';  // :path
  block += static_cast<char>(path.size());
  block += path;
  return frame(kHeaders, kEndHeaders | (end_stream ? kEndStream : 0), stream_id, block);
}

struct Frame {
  std::uint8_t type;
  std::uint32_t stream_id;
  std::string payload;
};

std::vector<Frame> frames_of(std::string_view bytes) {
  std::vector<Frame> frames;
  while (bytes.size() >= 9) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    const std::size_t length = byte(0) << 16 | byte(1) << 8 | byte(2);
    frames.push_back({byte(3),
                      static_cast<std::uint32_t>((byte(5) & 0x7f) << 24 | byte(6) << 16 |
                                                 byte(7) << 8 | byte(8)),
                      std::string(bytes.substr(9, length))});
    bytes.remove_prefix(std::min(bytes.size(), 9 + length));
  }
  return frames;
}

/// The error code of the GOAWAY among `frames`, or -1.
std::int64_t goaway_error(const std::vector<Frame>& frames) {
  for (const auto& f : frames) {
    if (f.type == kGoaway && f.payload.size() >= 8) {
      const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(f.payload[i]); };
      return std::int64_t{byte(4)} << 24 | byte(5) << 16 | byte(6) << 8 | byte(7);
    }
  }
  return -1;
}

bool has_frame(const std::vector<Frame>& frames, std::uint8_t type, std::uint32_t stream_id) {
  for (const auto& f : frames) {
    if (f.type == type && f.stream_id == stream_id) return true;
  }
  return false;
}

/// The session over a transport that records what is written; each write completes from the
/// worker's queue, as a socket's would.
class MemoryConnection final : public Http2Session,
                               public std::enable_shared_from_this<MemoryConnection> {
 public:
  explicit MemoryConnection(Worker& worker) : Http2Session(worker, demo_connection()) {}

  bool start() {
    if (!start_codec()) return false;
    flush();
    return true;
  }
  /// One read's bytes; false: the session reads no more.
  bool receive(std::string_view bytes) { return on_bytes(bytes.data(), bytes.size()); }
  const std::string& written() const { return written_; }
  bool ended() const { return ended_; }

  std::shared_ptr<void> keepalive() override { return shared_from_this(); }
  void force_close() override {
    if (!closed_) close_now();
  }

 private:
  static ConnectionInfo demo_connection() {
    ConnectionInfo info;
    info.forwarding_rule = "demo-http";
    info.https = true;
    info.client_ip = "10.0.0.7";
    info.local_ip = "127.0.0.1";
    return info;
  }

  void write_out(std::string_view bytes) override {
    written_.append(bytes);
    boost::asio::post(worker_.io_context(),
                      [self = shared_from_this()] { self->on_written(true); });
  }
  void close_transport() override { ended_ = true; }
  void end_transport() override { ended_ = true; }
  void idle_changed() override {}

  std::string written_;
  bool ended_ = false;
};

class Http2SessionTest : public ::testing::Test {
 protected:
  Http2SessionTest() : run_(config::embedded_demo_config()) {}

  std::shared_ptr<MemoryConnection> connect() {
    auto connection = std::make_shared<MemoryConnection>(run_.worker());
    EXPECT_TRUE(connection->start());
    run_.settle();  // the server's SETTINGS are written: no write is pending
    return connection;
  }

  RequestRun run_;
};

TEST_F(Http2SessionTest, StandInAnswersAGet) {
  auto connection = connect();
  EXPECT_TRUE(
      connection->receive(std::string(kPreface) + frame(kSettings, 0, 0) + get(1, "/login/web")));
  run_.settle();
  const auto frames = frames_of(connection->written());
  EXPECT_TRUE(has_frame(frames, kHeaders, 1));
  EXPECT_TRUE(has_frame(frames, kData, 1));
  connection->force_close();
  run_.settle();
}

// The stand-in answers inside nghttp2's callback for the request's HEADERS. That answer used
// to be serialized right there, nghttp2_session_mem_send called from inside
// nghttp2_session_mem_recv (which nghttp2 forbids: sending can free a stream the receiving
// code still holds), so it went out before the RST_STREAM that follows in the same read was
// even parsed. Now everything a read causes goes out once the read was parsed.
TEST_F(Http2SessionTest, AStreamResetInTheSameReadAsItsRequestIsNotAnswered) {
  auto connection = connect();
  EXPECT_TRUE(connection->receive(std::string(kPreface) + frame(kSettings, 0, 0) +
                                  get(1, "/login/a") + frame(kRstStream, 0, 1, be32(kCancel)) +
                                  get(3, "/login/b")));
  run_.settle();
  const auto frames = frames_of(connection->written());
  for (const auto& f : frames) EXPECT_NE(f.stream_id, 1u) << "frame type " << int(f.type);
  EXPECT_TRUE(has_frame(frames, kHeaders, 3));
  connection->force_close();
  run_.settle();
}

// A GOAWAY with no stream open leaves nghttp2 wanting neither to read nor to write: the
// session ends inside that read, and the connection must not start another one (it used to,
// beside the read of its lingering close).
TEST_F(Http2SessionTest, ClientGoawayWithNoStreamOpenEndsTheReads) {
  auto connection = connect();
  EXPECT_TRUE(connection->receive(std::string(kPreface) + frame(kSettings, 0, 0)));
  run_.settle();  // the SETTINGS ACK is written
  EXPECT_FALSE(connection->ended());
  EXPECT_FALSE(connection->receive(frame(kGoaway, 0, 0, be32(0) + be32(0))));
  EXPECT_TRUE(connection->ended());
  run_.settle();
}

// Over 100 empty DATA frames in a row are a flood, which ends the session. It used to be ended
// from inside nghttp2's callback (nghttp2_session_terminate_session), after which nghttp2 resets
// its read state and parses on; a connection error later in the same read (a RST_STREAM of the
// wrong length) then failed nghttp2's assertion `iframe->state == NGHTTP2_IB_IGN_ALL`, which
// aborts albemu. Found by fuzz_http2_session.
TEST_F(Http2SessionTest, EmptyDataFloodThenAConnectionErrorInTheSameRead) {
  auto connection = connect();
  std::string flood;
  for (int i = 0; i < 101; ++i) flood += frame(kData, 0, 1);
  EXPECT_TRUE(connection->receive(std::string(kPreface) + frame(kSettings, 0, 0) +
                                  get(1, "/login/upload", false) + flood +
                                  frame(kRstStream, 0, 1)));
  run_.settle();
  EXPECT_EQ(goaway_error(frames_of(connection->written())), kEnhanceYourCalm);
  run_.settle();
  EXPECT_TRUE(connection->ended());
}

// The same from a drain: the last stream closing inside a read ends the session, and a
// connection error later in that read (a PING of the wrong length) must not meet an ended
// session in the middle of nghttp2's parsing.
TEST_F(Http2SessionTest, DrainEndingInsideAReadThenAConnectionError) {
  auto connection = connect();
  // A service the URL mask does not find: the 503 comes before the client's side ends.
  EXPECT_TRUE(connection->receive(std::string(kPreface) + frame(kSettings, 0, 0) +
                                  get(1, "/no-such-service/x", false)));
  run_.settle();
  EXPECT_TRUE(has_frame(frames_of(connection->written()), kHeaders, 1));
  connection->on_drain();
  run_.settle();
  connection->receive(frame(kData, kEndStream, 1) + frame(kPing, 0, 0));
  run_.settle();
  EXPECT_TRUE(connection->ended());
}

// A drain that meets an open stream sends a GOAWAY naming it as the last; when that stream
// closes, the connection ends without a second GOAWAY (an idle connection's drain sends one,
// and clients count them). A stream whose answer went out before its request's side ended is
// the open stream here, as a proxied answer is while its relay winds down.
TEST_F(Http2SessionTest, DrainWithAStreamOpenSendsOneGoaway) {
  auto connection = connect();
  EXPECT_TRUE(connection->receive(std::string(kPreface) + frame(kSettings, 0, 0) +
                                  get(1, "/no-such-service/x", false)));
  run_.settle();
  connection->on_drain();
  run_.settle();
  auto frames = frames_of(connection->written());
  ASSERT_EQ(goaway_error(frames), 0);
  EXPECT_FALSE(connection->ended());
  connection->receive(frame(kData, kEndStream, 1));
  run_.settle();
  EXPECT_TRUE(connection->ended());
  frames = frames_of(connection->written());
  int goaways = 0;
  for (const auto& f : frames) {
    if (f.type != kGoaway) continue;
    ++goaways;
    EXPECT_EQ(f.payload.substr(0, 4), be32(1));  // the last stream id
  }
  EXPECT_EQ(goaways, 1);
}

}  // namespace
}  // namespace albemu::net::testing
