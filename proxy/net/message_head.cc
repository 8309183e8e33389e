#include "proxy/net/message_head.h"

#include <boost/beast/core/static_string.hpp>
#include <string>

#include "proxy/core/ascii.h"

namespace albemu::net {

namespace {

using core::for_each_list_element;

/// Appends `token` to the HTTP list `list` (", " between elements).
void add_token(std::string& list, std::string_view token) {
  if (!list.empty()) list += ", ";
  list += token;
}

/// `list` without the tokens `drop` accepts, joined with ", ".
template <class Drop>
std::string filtered_tokens(std::string_view list, Drop&& drop) {
  std::string out;
  for_each_list_element(list, [&](std::string_view token) {
    if (!drop(token)) add_token(out, token);
  });
  return out;
}

}  // namespace

template <bool isRequest>
bool MessageHead<isRequest>::chunked() const {
  const auto it = find(field::transfer_encoding);
  if (it == end()) return false;
  bool last_is_chunked = false;
  for_each_list_element(it->value(), [&](std::string_view token) {
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
      codings += ", chunked";  // as Beast writes it, even after an empty value
      set(field::transfer_encoding, codings);
    }
  } else if (it != end()) {
    // Only a final chunked goes (filter_token_list_last in Beast).
    std::string codings;
    std::string_view last;
    for_each_list_element(it->value(), [&](std::string_view token) {
      if (!last.empty()) add_token(codings, last);
      last = token;
    });
    if (!last.empty() && !core::iequals_ascii(last, "chunked")) add_token(codings, last);
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
    for_each_list_element(current, [&](std::string_view t) { has_wanted |= is_keep_alive(t); });
    if (!has_wanted) add_token(tokens, "keep-alive");
  } else if (version_ < 11 || keep_alive) {
    tokens = filtered_tokens(current,
                             [&](std::string_view t) { return is_close(t) || is_keep_alive(t); });
  } else {
    tokens = filtered_tokens(current, is_keep_alive);
    for_each_list_element(current, [&](std::string_view t) { has_wanted |= is_close(t); });
    if (!has_wanted) add_token(tokens, "close");
  }
  if (tokens.empty()) {
    erase(field::connection);
  } else {
    set(field::connection, tokens);
  }
}

template class MessageHead<true>;
template class MessageHead<false>;

}  // namespace albemu::net
