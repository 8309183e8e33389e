#pragma once
// The fields of a proxied HTTP/1 message head as one flat list over one byte buffer. Beast's
// basic_fields allocates a node and inserts it into a red-black tree for every field; then the
// proxy looks a few names up, rewrites a few and walks them all again to write them out. For
// the ten-odd fields of a typical head a linear scan over a flat list is cheaper at every step,
// and the buffer is kept from one message to the next (no allocation per request).
//
// The API follows the part of Beast's that albemu uses (find, set, insert, erase, iteration
// with name(), name_string() and value()), so header rules are written once for both.

#include <boost/beast/http/field.hpp>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
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
  HeadFields(HeadFields&& other) noexcept;
  HeadFields& operator=(HeadFields&& other) noexcept;
  ~HeadFields() = default;

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

  /// Adds a field after the others of its name (or last). As in Beast, the value is stored
  /// without leading and trailing spaces and tabs.
  void insert(field name, std::string_view value);
  void insert(std::string_view name, std::string_view value);
  /// Removes every `name` field and appends one with `value` (trimmed as by insert).
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
  /// keep() for a name and a value either of which may view the byte buffer: both are located
  /// before anything is stored, since storing may move the buffer.
  std::pair<Span, Span> keep_both(std::string_view name, std::string_view value) {
    const auto owned_name = owned(name);
    const auto owned_value = owned(value);
    const Span name_span = owned_name ? *owned_name : store(name);
    return {name_span, owned_value ? *owned_value : store(value)};
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
  template <class Name>
  std::size_t count_matching(Name name) const;

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

}  // namespace albemu::net
