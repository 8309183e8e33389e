#include "proxy/cli/json_print.h"

#include <boost/json.hpp>

namespace albemu::cli {

namespace {

void print(const boost::json::value& value, std::string& out, int depth) {
  const auto newline = [&out](int indent) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
  };
  if (value.is_object() && !value.as_object().empty()) {
    out += '{';
    bool first = true;
    for (const auto& member : value.as_object()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      out += boost::json::serialize(boost::json::string_view(member.key()));
      out += ": ";
      print(member.value(), out, depth + 1);
    }
    newline(depth);
    out += '}';
  } else if (value.is_array() && !value.as_array().empty()) {
    out += '[';
    bool first = true;
    for (const auto& element : value.as_array()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      print(element, out, depth + 1);
    }
    newline(depth);
    out += ']';
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  print(value, out, 0);
  return out;
}

}  // namespace albemu::cli
