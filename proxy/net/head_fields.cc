#include "proxy/net/head_fields.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "proxy/core/ascii.h"

namespace albemu::net {

namespace http = boost::beast::http;

using core::trim_ows;

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

HeadFields::HeadFields(HeadFields&& other) noexcept
    : entries_(std::move(other.entries_)),
      text_(std::move(other.text_)),
      text_size_(std::exchange(other.text_size_, 0)),
      text_capacity_(std::exchange(other.text_capacity_, 0)),
      erased_(std::exchange(other.erased_, 0)) {
  other.entries_.clear();
}

HeadFields& HeadFields::operator=(HeadFields&& other) noexcept {
  if (this != &other) {
    entries_ = std::move(other.entries_);
    other.entries_.clear();
    text_ = std::move(other.text_);
    text_size_ = std::exchange(other.text_size_, 0);
    text_capacity_ = std::exchange(other.text_capacity_, 0);
    erased_ = std::exchange(other.erased_, 0);
  }
  return *this;
}

HeadFields::Span HeadFields::store(std::string_view text) {
  // Offsets are 32 bits: MessageHeadParser bounds what a head stores (kMaxStoredBytes), and
  // the header rules cap what they add well below that.
  const auto size = static_cast<std::uint32_t>(text.size());
  if (std::size_t{text_capacity_} - text_size_ < size)
    reserve(std::max<std::size_t>(std::size_t{text_size_} + size, 512));
  if (size > 0) std::memcpy(text_.get() + text_size_, text.data(), size);
  const Span span{text_size_, size};
  text_size_ += size;
  return span;
}

bool HeadFields::matches(const Entry& entry, std::string_view name) const {
  return !entry.erased && core::iequals_ascii(view(entry.name), name);
}

void HeadFields::append(field id, std::string_view name, std::string_view value) {
  // Either may be a view into text_ (set(x, fields[y])).
  const auto [name_span, value_span] = keep_both(name, trim_ows(value));
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
  // sees is what the client sent. The bytes are usually those adopt_bytes() copied.
  const auto [name_span, value_span] = keep_both(name, value);
  entries_.push_back({id, false, name_span, value_span});
}

std::string_view HeadFields::adopt_bytes(std::string_view bytes) {
  // Beast parses from the copy, and a token it hands back from elsewhere (an obs-fold value it
  // unfolded) is stored meanwhile: that store must not move the copy. Such tokens are never
  // longer than the bytes they came from, so room for twice the copy is enough.
  reserve(std::size_t{text_size_} + 2 * bytes.size() + 64);
  return view(store(bytes));
}

void HeadFields::reserve(std::size_t bytes) {
  if (bytes <= text_capacity_) return;
  const auto capacity =
      static_cast<std::uint32_t>(std::max<std::size_t>(bytes, std::size_t{text_capacity_} * 2));
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
  const Span value_span = keep(trim_ows(value));
  erase(name);
  entries_.push_back({name, false, store(http::to_string(name)), value_span});  // none left
}

void HeadFields::set(std::string_view name, std::string_view value) {
  const auto [name_span, value_span] = keep_both(name, trim_ows(value));
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

template <class Name>
std::size_t HeadFields::count_matching(Name name) const {
  return std::count_if(entries_.begin(), entries_.end(),
                       [&](const Entry& entry) { return matches(entry, name); });
}

std::size_t HeadFields::count(field name) const { return count_matching(name); }
std::size_t HeadFields::count(std::string_view name) const { return count_matching(name); }

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

}  // namespace albemu::net
