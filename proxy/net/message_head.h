#pragma once
// The head of a proxied HTTP/1 message: start line and fields in one flat list over one byte
// buffer. Beast's basic_fields allocates a node and inserts it into a red-black tree for every
// field, then the proxy looks a few names up, rewrites a few and writes them all out again;
// for the ten-odd fields of a typical head a linear scan over a flat list is cheaper at every
// step, and the storage is kept from one message to the next (no allocation per request).
//
// The API follows the part of Beast's that albemu uses (find, set, insert, erase, iteration
// with name(), name_string() and value()), so header rules are written once for both.
// Beast's parser still does the parsing (MessageHeadParser); only where its result goes
// differs.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional/optional.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace albemu::net {

/// The fields of one message head, in order. Views handed out (name_string(), value()) stay
/// valid until the next change to the fields.
class HeadFields {
 public:
  using field = boost::beast::http::field;

  class Field;
  class const_iterator;
  using iterator = const_iterator;

  HeadFields() = default;
  HeadFields(const HeadFields& other);
  HeadFields& operator=(const HeadFields& other);
  HeadFields(HeadFields&&) noexcept = default;
  HeadFields& operator=(HeadFields&&) noexcept = default;

  const_iterator begin() const;
  const_iterator end() const;
  /// The first field called `name`, or end().
  const_iterator find(field name) const;
  const_iterator find(std::string_view name) const;
  std::size_t count(field name) const;
  std::size_t count(std::string_view name) const;
  /// The first `name` field's value, or empty.
  std::string_view operator[](field name) const;
  /// Calls `fn(value)` for every `name` field, in order (Beast's equal_range).
  template <class Name, class Fn>
  void for_each_value(Name name, Fn&& fn) const;
  /// Number of fields.
  std::size_t size() const { return entries_.size() - erased_; }

  void insert(field name, std::string_view value);
  void insert(std::string_view name, std::string_view value);
  /// Removes every `name` field and appends one with `value`.
  void set(field name, std::string_view value);
  void set(std::string_view name, std::string_view value);
  /// Removes every `name` field; returns how many there were.
  std::size_t erase(field name);
  std::size_t erase(std::string_view name);
  /// Removes the field at `it`; returns the next one.
  const_iterator erase(const_iterator it);
  void clear();

  /// Appends `name: value CRLF` for every field (not the empty line that ends the head).
  void append_to(std::string& out) const;

  /// A field as the parser delivered it (name spelled as received), after those before it.
  void add_parsed(field id, std::string_view name, std::string_view value);
  /// Copies `bytes`, head bytes about to be parsed, into the byte buffer and returns the copy:
  /// fields parsed from it are then stored as offsets.
  std::string_view adopt_bytes(std::string_view bytes);
  /// Bytes held (parsed, copied or added) since the last clear().
  std::size_t stored_bytes() const { return text_size_; }
  /// Clears the fields and drops storage beyond `bytes` (after an unusually large head).
  void trim_capacity(std::size_t bytes);

 protected:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  /// Appends `text` to the byte buffer.
  Span store(std::string_view text);
  /// Makes room for `bytes` in all (moving the buffer, so views into it end).
  void reserve(std::size_t bytes);
  /// `text`'s place if it already lies in the byte buffer, else store(text).
  Span keep(std::string_view text) {
    if (const auto span = owned(text)) return *span;
    return store(text);
  }
  std::optional<Span> owned(std::string_view text) const {
    const std::less<const char*> before;
    const char* begin = text_.get();
    const char* end = begin + text_size_;
    if (text.empty() || before(text.data(), begin) || before(end, text.data() + text.size()))
      return std::nullopt;
    return Span{static_cast<std::uint32_t>(text.data() - begin),
                static_cast<std::uint32_t>(text.size())};
  }
  std::string_view view(Span span) const { return {text_.get() + span.offset, span.size}; }

 private:
  struct Entry {
    field id;
    bool erased;
    Span name;
    Span value;
  };
  void append(field id, std::string_view name, std::string_view value);
  void place(const Entry& entry);
  bool matches(const Entry& entry, field name) const { return !entry.erased && entry.id == name; }
  bool matches(const Entry& entry, std::string_view name) const;
  template <class Name>
  std::size_t erase_all(Name name);
  template <class Name>
  const_iterator find_first(Name name) const;

  std::vector<Entry> entries_;
  // Every name, value and start-line token, one after the other. A bare buffer rather than a
  // std::string: appending is a bounds check and a memcpy.
  std::unique_ptr<char[]> text_;
  std::uint32_t text_size_ = 0;
  std::uint32_t text_capacity_ = 0;
  std::size_t erased_ = 0;

  friend class Field;
  friend class const_iterator;
};

class HeadFields::Field {
 public:
  Field(const HeadFields& fields, const Entry& entry) : fields_(&fields), entry_(&entry) {}
  field name() const { return entry_->id; }
  std::string_view name_string() const { return fields_->view(entry_->name); }
  std::string_view value() const { return fields_->view(entry_->value); }

 private:
  const HeadFields* fields_;
  const Entry* entry_;
};

class HeadFields::const_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Field;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Field;

  const_iterator() = default;
  const_iterator(const HeadFields* fields, std::size_t index) : fields_(fields), index_(index) {
    skip_erased();
  }
  Field operator*() const { return {*fields_, fields_->entries_[index_]}; }
  struct Arrow {
    Field field;
    const Field* operator->() const { return &field; }
  };
  Arrow operator->() const { return {**this}; }
  const_iterator& operator++() {
    ++index_;
    skip_erased();
    return *this;
  }
  const_iterator operator++(int) {
    auto before = *this;
    ++*this;
    return before;
  }
  bool operator==(const const_iterator& other) const { return index_ == other.index_; }

 private:
  void skip_erased() {
    while (index_ < fields_->entries_.size() && fields_->entries_[index_].erased) ++index_;
  }
  const HeadFields* fields_ = nullptr;
  std::size_t index_ = 0;
  friend class HeadFields;
};

inline HeadFields::const_iterator HeadFields::begin() const { return {this, 0}; }
inline HeadFields::const_iterator HeadFields::end() const { return {this, entries_.size()}; }

template <class Name, class Fn>
void HeadFields::for_each_value(Name name, Fn&& fn) const {
  for (const Entry& entry : entries_) {
    if (matches(entry, name)) fn(view(entry.value));
  }
}

/// The start line and fields of a request (isRequest) or response head, with the message-level
/// helpers of Beast's message that the proxied path uses, and the buffer_body the parser fills.
template <bool isRequest>
class MessageHead : public HeadFields {
 public:
  using verb = boost::beast::http::verb;

  const MessageHead& base() const { return *this; }
  MessageHead& base() { return *this; }

  unsigned version() const { return version_; }
  void version(unsigned version) { version_ = version; }

  // ---- request line
  verb method() const requires isRequest { return method_; }
  void method(verb method) requires isRequest { method_ = method; }
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

/// Calls `fn(value)` for every `name` field of `fields`, in order: a HeadFields or Beast's
/// fields (through equal_range).
template <class Fields, class Name, class Fn>
void for_each_value(const Fields& fields, Name name, Fn&& fn) {
  if constexpr (std::is_base_of_v<HeadFields, Fields>) {
    fields.for_each_value(name, fn);
  } else {
    const auto [begin, end] = fields.equal_range(name);
    for (auto it = begin; it != end; ++it) fn(it->value());
  }
}

using RequestHead = MessageHead<true>;
using ResponseHead = MessageHead<false>;

/// The heads one exchange works on, kept by the worker between requests.
struct MessageHeads {
  RequestHead request;
  ResponseHead response;
};

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
};

}  // namespace albemu::net
