#include "proxy/net/http2_codec.h"

#include "proxy/core/ascii.h"

namespace albemu::net {
namespace {

/// Fields that belong to one HTTP/1 connection and have no place in HTTP/2 (RFC 9113 8.2.2);
/// `lowered` is a lowercase field name. (TE is one too, unless its value is "trailers".)
bool is_connection_specific(std::string_view lowered) {
  return lowered == "connection" || lowered == "keep-alive" || lowered == "proxy-connection" ||
         lowered == "transfer-encoding" || lowered == "upgrade";
}

}  // namespace

nghttp2_session* new_codec(bool server, nghttp2_session_callbacks* callbacks, void* user_data) {
  nghttp2_option* options = nullptr;
  nghttp2_session* codec = nullptr;
  if (nghttp2_option_new(&options) == 0) {
    nghttp2_option_set_no_auto_window_update(options, 1);
    const int rv = server ? nghttp2_session_server_new2(&codec, callbacks, user_data, options)
                          : nghttp2_session_client_new2(&codec, callbacks, user_data, options);
    if (rv != 0) codec = nullptr;
    nghttp2_option_del(options);
  }
  nghttp2_session_callbacks_del(callbacks);
  return codec;
}

void Http2Fields::add(std::string_view name, std::string_view value) {
  nv_.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                 reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                 value.size(), NGHTTP2_NV_FLAG_NONE});
}

void Http2Fields::add_all(const HeadFields& fields, bool drop_host) {
  nv_.reserve(nv_.size() + fields.size());
  for (const auto& field : fields) {
    names_.push_back(core::ascii_lowered(field.name_string()));
    const std::string& name = names_.back();
    if (is_connection_specific(name) || (drop_host && name == "host")) continue;
    if (name == "te" && !core::iequals_ascii(field.value(), "trailers")) continue;
    add(name, field.value());
  }
}

}  // namespace albemu::net
