#include "proxy/net/message_head.h"

#include <algorithm>
#include <boost/beast/core/static_string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "proxy/core/ascii.h"

namespace albemu::net {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// Calls `fn(token)` for each comma-separated, trimmed, non-empty token of `list`.
template <class Fn>
void for_each_token(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view token = trim(list.substr(0, comma));
    if (!token.empty()) fn(token);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

/// `list` without the tokens `drop` accepts, joined with ", ".
template <class Drop>
std::string filtered_tokens(std::string_view list, Drop&& drop) {
  std::string out;
  for_each_token(list, [&](std::string_view token) {
    if (drop(token)) return;
    if (!out.empty()) out += ", ";
    out += token;
  });
  return out;
}

}  // namespace

// ---- HeadFields

HeadFields::HeadFields(const HeadFields& other)
    : entries_(other.entries_),
      text_size_(other.text_size_),
      text_capacity_(other.text_size_),
      erased_(other.erased_) {
  if (text_size_ > 0) {
    text_ = std::make_unique_for_overwrite<char[]>(text_size_);
    std::memcpy(text_.get(), other.text_.get(), text_size_);
  }
}

HeadFields& HeadFields::operator=(const HeadFields& other) {
  if (this != &other) *this = HeadFields(other);
  return *this;
}

HeadFields::Span HeadFields::store(std::string_view text) {
  // Offsets are 32 bits: a head is at most tens of KiB (the parsers' limits), and what the
  // header rules add is capped well below.
  const auto size = static_cast<std::uint32_t>(text.size());
  if (text_capacity_ - text_size_ < size) reserve(std::max<std::size_t>(text_size_ + size, 512));
  if (size > 0) std::memcpy(text_.get() + text_size_, text.data(), size);
  const Span span{text_size_, size};
  text_size_ += size;
  return span;
}

bool HeadFields::matches(const Entry& entry, std::string_view name) const {
  return !entry.erased && core::iequals_ascii(view(entry.name), name);
}

void HeadFields::append(field id, std::string_view name, std::string_view value) {
  // Either may be a view into text_ (set(x, fields[y])), which store() may move: such views
  // become offsets before anything is stored.
  const auto owned_name = owned(name);
  const auto owned_value = owned(value);
  const Span name_span = owned_name ? *owned_name : store(name);
  const Span value_span = owned_value ? *owned_value : store(value);
  place({id, false, name_span, value_span});
}

void HeadFields::place(const Entry& entry) {
  // Beast keeps fields of one name together: a new one goes after the last of its name.
  const std::string_view name = view(entry.name);
  for (std::size_t i = entries_.size(); i-- > 0;) {
    const Entry& other = entries_[i];
    const bool same = entry.id != field::unknown ? matches(other, entry.id) : matches(other, name);
    if (same) {
      entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(i) + 1, entry);
      return;
    }
  }
  entries_.push_back(entry);
}

void HeadFields::add_parsed(field id, std::string_view name, std::string_view value) {
  // In the order received (Beast's parser would group fields of one name): what a backend
  // sees is what the client sent. The bytes are usually those adopt_head() copied.
  const Span name_span = keep(name);
  entries_.push_back({id, false, name_span, keep(value)});
}

std::string_view HeadFields::adopt_bytes(std::string_view bytes) {
  // Beast parses from the copy, and a token it hands back from elsewhere (an obs-fold value it
  // unfolded) is stored meanwhile: that store must not move the copy. Such tokens are never
  // longer than the bytes they came from, so room for twice the copy is enough.
  reserve(text_size_ + 2 * bytes.size() + 64);
  return view(store(bytes));
}

void HeadFields::reserve(std::size_t bytes) {
  if (bytes <= text_capacity_) return;
  const auto capacity =
      static_cast<std::uint32_t>(std::max<std::size_t>(bytes, text_capacity_ * 2));
  auto grown = std::make_unique_for_overwrite<char[]>(capacity);
  if (text_size_ > 0) std::memcpy(grown.get(), text_.get(), text_size_);
  text_ = std::move(grown);
  text_capacity_ = capacity;
}

void HeadFields::insert(field name, std::string_view value) {
  append(name, http::to_string(name), value);
}

void HeadFields::insert(std::string_view name, std::string_view value) {
  append(http::string_to_field(name), name, value);
}

void HeadFields::set(field name, std::string_view value) {
  // The bytes stay in text_ when their field is erased, so a value viewing one stays good.
  const Span value_span = keep(value);
  erase(name);
  entries_.push_back({name, false, store(http::to_string(name)), value_span});  // none left
}

void HeadFields::set(std::string_view name, std::string_view value) {
  const auto owned_name = owned(name);
  const auto owned_value = owned(value);
  const Span name_span = owned_name ? *owned_name : store(name);
  const Span value_span = owned_value ? *owned_value : store(value);
  erase(view(name_span));
  entries_.push_back({http::string_to_field(view(name_span)), false, name_span, value_span});
}

template <class Name>
std::size_t HeadFields::erase_all(Name name) {
  std::size_t n = 0;
  for (Entry& entry : entries_) {
    if (!matches(entry, name)) continue;
    entry.erased = true;
    ++n;
  }
  erased_ += n;
  return n;
}

std::size_t HeadFields::erase(field name) { return erase_all(name); }
std::size_t HeadFields::erase(std::string_view name) { return erase_all(name); }

HeadFields::const_iterator HeadFields::erase(const_iterator it) {
  entries_[it.index_].erased = true;
  ++erased_;
  return ++it;
}

template <class Name>
HeadFields::const_iterator HeadFields::find_first(Name name) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (matches(entries_[i], name)) return {this, i};
  }
  return end();
}

HeadFields::const_iterator HeadFields::find(field name) const { return find_first(name); }
HeadFields::const_iterator HeadFields::find(std::string_view name) const {
  return find_first(name);
}

std::size_t HeadFields::count(field name) const {
  return std::count_if(entries_.begin(), entries_.end(),
                       [&](const Entry& entry) { return matches(entry, name); });
}

std::size_t HeadFields::count(std::string_view name) const {
  return std::count_if(entries_.begin(), entries_.end(),
                       [&](const Entry& entry) { return matches(entry, name); });
}

std::string_view HeadFields::operator[](field name) const {
  const auto it = find(name);
  return it == end() ? std::string_view() : it->value();
}

void HeadFields::clear() {
  entries_.clear();
  text_size_ = 0;
  erased_ = 0;
}

void HeadFields::trim_capacity(std::size_t bytes) {
  clear();
  if (text_capacity_ > bytes) {
    text_.reset();
    text_capacity_ = 0;
  }
  if (entries_.capacity() * sizeof(Entry) > bytes) entries_.shrink_to_fit();
}

void HeadFields::append_to(std::string& out) const {
  // One resize and plain copies: string::append per piece costs several times more.
  std::size_t total = 0;
  for (const Entry& entry : entries_) {
    if (!entry.erased) total += entry.name.size + entry.value.size + 4;
  }
  std::size_t at = out.size();
  out.resize(at + total);
  char* to = out.data();
  for (const Entry& entry : entries_) {
    if (entry.erased) continue;
    std::memcpy(to + at, text_.get() + entry.name.offset, entry.name.size);
    at += entry.name.size;
    to[at++] = ':';
    to[at++] = ' ';
    std::memcpy(to + at, text_.get() + entry.value.offset, entry.value.size);
    at += entry.value.size;
    to[at++] = '\r';
    to[at++] = '\n';
  }
}

// ---- MessageHead

template <bool isRequest>
bool MessageHead<isRequest>::chunked() const {
  const auto it = find(field::transfer_encoding);
  if (it == end()) return false;
  bool last_is_chunked = false;
  for_each_token(it->value(), [&](std::string_view token) {
    last_is_chunked = core::iequals_ascii(token, "chunked");
  });
  return last_is_chunked;
}

template <bool isRequest>
void MessageHead<isRequest>::chunked(bool value) {
  set_chunked_coding(value);
  erase(field::content_length);
}

template <bool isRequest>
void MessageHead<isRequest>::set_chunked_coding(bool value) {
  const auto it = find(field::transfer_encoding);
  if (value) {
    if (it == end()) {
      set(field::transfer_encoding, "chunked");
    } else if (!chunked()) {
      std::string codings(it->value());
      codings += ", chunked";
      set(field::transfer_encoding, codings);
    }
  } else if (it != end()) {
    // Only a final chunked goes (filter_token_list_last in Beast).
    std::string codings;
    std::string_view last;
    for_each_token(it->value(), [&](std::string_view token) {
      if (!last.empty()) {
        if (!codings.empty()) codings += ", ";
        codings += last;
      }
      last = token;
    });
    if (!last.empty() && !core::iequals_ascii(last, "chunked")) {
      if (!codings.empty()) codings += ", ";
      codings += last;
    }
    if (codings.empty()) {
      erase(field::transfer_encoding);
    } else {
      set(field::transfer_encoding, codings);
    }
  }
}

template <bool isRequest>
void MessageHead<isRequest>::content_length(const boost::optional<std::uint64_t>& value) {
  if (!value) {
    erase(field::content_length);
  } else {
    const auto digits = boost::beast::to_static_string(*value);
    set(field::content_length, std::string_view(digits.data(), digits.size()));
  }
  set_chunked_coding(false);
}

template <bool isRequest>
void MessageHead<isRequest>::keep_alive(bool keep_alive) {
  const std::string_view current = (*this)[field::connection];
  const auto is = [](std::string_view a) {
    return [a](std::string_view token) { return core::iequals_ascii(token, a); };
  };
  const auto is_close = is("close");
  const auto is_keep_alive = is("keep-alive");
  std::string tokens;
  bool has_wanted = false;
  if (version_ < 11 && keep_alive) {
    tokens = filtered_tokens(current, is_close);
    for_each_token(current, [&](std::string_view t) { has_wanted |= is_keep_alive(t); });
    if (!has_wanted) tokens += tokens.empty() ? "keep-alive" : ", keep-alive";
  } else if (version_ < 11 || keep_alive) {
    tokens = filtered_tokens(current,
                             [&](std::string_view t) { return is_close(t) || is_keep_alive(t); });
  } else {
    tokens = filtered_tokens(current, is_keep_alive);
    for_each_token(current, [&](std::string_view t) { has_wanted |= is_close(t); });
    if (!has_wanted) tokens += tokens.empty() ? "close" : ", close";
  }
  if (tokens.empty()) {
    erase(field::connection);
  } else {
    set(field::connection, tokens);
  }
}

template class MessageHead<true>;
template class MessageHead<false>;

// ---- MessageHeadParser

template <bool isRequest>
void MessageHeadParser<isRequest>::on_request_impl(http::verb method, string_view method_text,
                                                   string_view target, int version,
                                                   error_code& ec) {
  ec = {};
  if constexpr (isRequest) {
    head_.start_request(method, method_text, target, static_cast<unsigned>(version));
  }
}

template <bool isRequest>
void MessageHeadParser<isRequest>::on_response_impl(int status, string_view reason, int version,
                                                    error_code& ec) {
  ec = {};
  if constexpr (!isRequest) {
    head_.start_response(static_cast<unsigned>(status), reason, static_cast<unsigned>(version));
  }
}

template <bool isRequest>
void MessageHeadParser<isRequest>::on_field_impl(http::field name, string_view name_text,
                                                 string_view value, error_code& ec) {
  ec = {};
  // Trailer fields of a chunked body come here too; the proxy does not pass trailers on.
  if (this->is_header_done()) return;
  head_.add_parsed(name, name_text, value);
}

template <bool isRequest>
std::size_t MessageHeadParser<isRequest>::put_head(boost::asio::const_buffer buffer,
                                                   error_code& ec) {
  // Parsing a copy held by the head itself leaves every start-line token, name and value where
  // it already is: the fields are recorded as offsets, never copied one by one. The copy takes
  // what is buffered, up to kAdoptLimit at a time (cheaper than finding the head's end first).
  // Beast takes whole lines and stops after the head, reporting how much it used; when a copy
  // ends inside the head, the next copy starts after the last line Beast took.
  const std::string_view bytes(static_cast<const char*>(buffer.data()), buffer.size());
  std::size_t used = 0;
  while (!this->is_header_done()) {
    const std::string_view rest = bytes.substr(used);
    const std::size_t size = std::min(rest.size(), kAdoptLimit);
    // A head arriving in many small reads would otherwise copy its unparsed tail again and
    // again: past a budget, Beast parses the caller's bytes (tokens are then copied singly).
    if (head_.stored_bytes() + size > kAdoptBudget) break;
    const std::string_view copy = head_.adopt_bytes(rest.substr(0, size));
    const std::size_t n = this->put(boost::asio::buffer(copy.data(), copy.size()), ec);
    used += n;
    // Done, an error, or need_more with nothing left beyond the copy: that is the answer.
    if (ec != boost::beast::http::error::need_more || size == rest.size()) return used;
    // need_more although bytes follow the copy: a line longer than the copy, or simply more
    // head. Without progress, the caller's bytes go to Beast directly.
    if (n == 0) break;
  }
  return used + this->put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
}

template <bool isRequest>
std::size_t MessageHeadParser<isRequest>::take(string_view bytes, error_code& ec) {
  auto& body = head_.body();
  if (body.data == nullptr) {
    ec = http::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(body.size, bytes.size());
  std::copy_n(bytes.data(), n, static_cast<char*>(body.data));
  body.data = static_cast<char*>(body.data) + n;
  body.size -= n;
  ec = n == bytes.size() ? error_code() : error_code(http::error::need_buffer);
  return n;
}

template class MessageHeadParser<true>;
template class MessageHeadParser<false>;

}  // namespace albemu::net
