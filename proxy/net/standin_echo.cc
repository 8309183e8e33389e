#include "proxy/net/standin_echo.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "proxy/core/ascii.h"

namespace albemu::net {

std::string echo_json(const StandinIdentity& identity, const EchoRequest& request) {
  const std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // Repeated headers keep every value, in received order, under one lower-cased name.
  boost::json::object headers;
  for (const auto& [name, value] : request.headers) {
    auto& values = headers[core::ascii_lowered(name)];
    if (!values.is_array()) values = boost::json::array{};
    values.as_array().emplace_back(value);
  }

  boost::json::object body;
  body["service"] = identity.service;
  body["revision"] = identity.revision;
  body["tag"] = identity.tag;
  body["method"] = request.method;
  body["path"] = path;
  body["query"] = query;
  body["headers"] = std::move(headers);
  body["bodyLength"] = static_cast<std::uint64_t>(request.body_length);
  return boost::json::serialize(body);
}

}  // namespace albemu::net
