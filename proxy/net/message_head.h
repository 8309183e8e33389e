#pragma once
// The head of a proxied HTTP/1 message: start line, fields (HeadFields) and the buffer_body the
// parser fills, with the message-level helpers of Beast's message the proxied path uses.

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/net/head_fields.h"

namespace albemu::net {

/// The start line and fields of a request (isRequest) or response head, with the message-level
/// helpers of Beast's message that the proxied path uses, and the buffer_body the parser fills.
template <bool isRequest>
class MessageHead : public HeadFields {
 public:
  using verb = boost::beast::http::verb;

  /// Empties the fields and the start line (the head of a message not parsed yet).
  void clear() {
    HeadFields::clear();
    clear_start_line();
  }
  /// clear(), also dropping storage beyond `bytes`.
  void trim_capacity(std::size_t bytes) {
    HeadFields::trim_capacity(bytes);
    clear_start_line();
  }

  unsigned version() const { return version_; }
  void version(unsigned version) { version_ = version; }

  // ---- request line
  verb method() const requires isRequest { return method_; }
  void method(verb method) requires isRequest {
    method_ = method;
    method_text_ = {};
  }
  std::string_view method_string() const requires isRequest {
    if (method_ != verb::unknown) return boost::beast::http::to_string(method_);
    return view(method_text_);
  }
  std::string_view target() const requires isRequest { return view(target_); }
  void target(std::string_view target) requires isRequest { target_ = keep(target); }

  // ---- status line
  unsigned result_int() const requires(!isRequest) { return status_; }
  boost::beast::http::status result() const requires(!isRequest) {
    return boost::beast::http::int_to_status(status_);
  }
  std::string_view reason() const requires(!isRequest) { return view(reason_); }

  /// Whether Transfer-Encoding's last coding is chunked.
  bool chunked() const;
  /// Adds chunked to (or removes it from) Transfer-Encoding and drops Content-Length, as
  /// Beast's message::chunked does.
  void chunked(bool value);
  /// Sets (or with none removes) Content-Length and removes chunked, as Beast's does.
  void content_length(const boost::optional<std::uint64_t>& value);
  /// Rewrites Connection for `keep_alive` under this head's version, as Beast's does.
  void keep_alive(bool keep_alive);

  boost::beast::http::buffer_body::value_type& body() { return body_; }

  /// Called by the parser when a message starts.
  void start_request(verb method, std::string_view method_text, std::string_view target,
                     unsigned version) requires isRequest {
    method_ = method;
    method_text_ = method == verb::unknown ? keep(method_text) : Span{};
    target_ = keep(target);
    version_ = version;
  }
  void start_response(unsigned status, std::string_view reason,
                      unsigned version) requires(!isRequest) {
    status_ = status;
    reason_ = keep(reason);
    version_ = version;
  }

 private:
  void clear_start_line() {
    version_ = 11;
    method_ = verb::unknown;
    method_text_ = {};
    target_ = {};
    status_ = 0;
    reason_ = {};
  }
  /// Transfer-Encoding alone (Beast's set_chunked_impl).
  void set_chunked_coding(bool value);

  unsigned version_ = 11;
  verb method_ = verb::unknown;
  Span method_text_;
  Span target_;
  unsigned status_ = 0;
  Span reason_;
  boost::beast::http::buffer_body::value_type body_;
};

using RequestHead = MessageHead<true>;
using ResponseHead = MessageHead<false>;

}  // namespace albemu::net
