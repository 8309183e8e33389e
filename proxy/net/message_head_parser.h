#pragma once
// Beast's HTTP/1 parser with the head going into a MessageHead instead of Beast's message.

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "proxy/net/message_head.h"

namespace albemu::net {

/// Beast's HTTP/1 parser (framing, limits and errors exactly as http::parser), storing the head
/// into a MessageHead the caller keeps and the body into its buffer_body. One parser per
/// message, as with Beast's; the head it fills is cleared when the parser is made.
template <bool isRequest>
class MessageHeadParser final : public boost::beast::http::basic_parser<isRequest> {
 public:
  using error_code = boost::beast::error_code;
  explicit MessageHeadParser(MessageHead<isRequest>& head) : head_(head) {
    head_.clear();
    head_.body() = {};
  }
  MessageHead<isRequest>& get() { return head_; }
  const MessageHead<isRequest>& get() const { return head_; }

  /// basic_parser::put, parsing head bytes from a copy the head keeps (one memcpy instead of
  /// one per token). Returns the bytes of `buffer` used, as put() does; for the body it is
  /// put() itself.
  std::size_t put_head(boost::asio::const_buffer buffer, error_code& ec);

  /// The most put_head copies at a time: heads are usually far shorter, and bytes beyond the
  /// head are body.
  static constexpr std::size_t kAdoptLimit = 4096;
  /// The most put_head copies for one head in all.
  static constexpr std::size_t kAdoptBudget = 64 * 1024;
  /// Bounds on one head as a whole. Beast's header_limit applies to each put() alone, so a
  /// head trickling in a few lines per read would otherwise grow for as long as its sender
  /// keeps going (the header timeout, or a route timeout for a backend's answer). Past either
  /// bound the parse fails with header_limit.
  static constexpr std::size_t kMaxStoredBytes = 256 * 1024;
  static constexpr std::size_t kMaxFields = 1000;

  /// The most fields a head may have (at most kMaxFields); one more fails with header_limit.
  void field_limit(std::size_t fields) { field_limit_ = std::min(fields, kMaxFields); }

 private:
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_text, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int status, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_text, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override { ec = {}; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override {
    ec = {};
  }
  std::size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code& ec) override { ec = {}; }
  /// buffer_body's reader: copies into the caller's buffer, need_buffer when it is full.
  std::size_t take(string_view bytes, error_code& ec);

  MessageHead<isRequest>& head_;
  std::size_t field_limit_ = kMaxFields;
};

/// The heads one exchange works on, kept by the worker between requests, with the parser an
/// HTTP/1 connection reads its request's head with (lent together, so that an idle connection
/// holds none of them; an HTTP/2 stream leaves the parser empty).
struct MessageHeads {
  RequestHead request;
  ResponseHead response;
  std::optional<MessageHeadParser<true>> request_parser;
};

}  // namespace albemu::net
