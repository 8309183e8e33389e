#include "proxy/net/tls_socket.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <new>

namespace albemu::net {

namespace {

// ---- a BIO over the socket's descriptor: recv and send as OpenSSL's socket BIO does them, with
// MSG_NOSIGNAL (a client gone while its answer is written is an error, not a SIGPIPE).

int descriptor(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(descriptor(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && would_block(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(descriptor(bio), data, static_cast<size_t>(size), 0);
  if (n < 0 && would_block(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int command, long, void*) {
  // Writes are never buffered here: a flush has nothing to do. Everything else (kernel TLS
  // queries among them) is not supported.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const kMethod = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "albemu socket");
    if (m == nullptr || BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bio_create) != 1) {
      throw std::bad_alloc();
    }
    return m;
  }();
  return kMethod;
}

}  // namespace

TlsSocket::TlsSocket(ClientSocket socket, boost::asio::ssl::context& context)
    : socket_(std::move(socket)), ssl_(nullptr) {
  BIO_METHOD* const method = socket_bio_method();  // may throw: before anything is allocated
  ssl_ = SSL_new(context.native_handle());
  if (ssl_ == nullptr) throw std::bad_alloc();
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  // The BIO's data is the descriptor itself: it outlives any move of this object.
  BIO_set_data(bio, reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr): see above
                        static_cast<intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO; the socket stays the ClientSocket's
  SSL_set_accept_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  // The whole of what arrived in one recv, not a record header and then its body in two.
  SSL_set_read_ahead(ssl_, 1);
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)) {}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

char* TlsSocket::gather_buffer() {
  thread_local char buffer[kRecordSize];
  return buffer;
}

TlsSocket::Outcome TlsSocket::attempt(Kind kind, void* data, std::size_t size) {
  if (kind == Kind::read && size == 0) return {};
  // Closed while this operation waited (a deadline, a drain): its descriptor number may
  // already belong to another connection.
  if (!socket_.is_open()) return {Want::nothing, boost::asio::error::bad_descriptor, 0};
  ERR_clear_error();
  errno = 0;
  std::size_t done = 0;
  int result = 0;
  switch (kind) {
    case Kind::handshake:
      result = SSL_do_handshake(ssl_);
      break;
    case Kind::read:
      result = SSL_read_ex(ssl_, data, size, &done);
      break;
    case Kind::write:
      result = SSL_write_ex(ssl_, data, size, &done);
      break;
    case Kind::shutdown:
      // 0: our close_notify is out and the client's not seen, which callers do not wait for.
      result = SSL_shutdown(ssl_);
      if (result == 0) result = 1;
      break;
  }
  if (result > 0) return {Want::nothing, {}, done};
  const int system_error = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return {Want::readable, {}, 0};
    case SSL_ERROR_WANT_WRITE:
      return {Want::writable, {}, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {Want::nothing, boost::asio::error::eof, 0};
    case SSL_ERROR_SSL: {
      const unsigned long code = ERR_get_error();
      return {
          Want::nothing,
          boost::system::error_code(static_cast<int>(code), boost::asio::error::get_ssl_category()),
          0};
    }
    case SSL_ERROR_SYSCALL:
      // errno 0: the client closed without close_notify (the BIO answers no BIO_CTRL_EOF, so
      // OpenSSL reports a truncation this way rather than as SSL_R_UNEXPECTED_EOF_...).
      if (system_error != 0) {
        return {Want::nothing,
                boost::system::error_code(system_error, boost::system::system_category()), 0};
      }
      return {Want::nothing, boost::asio::ssl::error::stream_truncated, 0};
    default:
      return {Want::nothing, boost::asio::ssl::error::unexpected_result, 0};
  }
}

}  // namespace albemu::net
