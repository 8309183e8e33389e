#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace albemu::cli {

/// `value` as indented JSON (two spaces), for output people read.
std::string pretty_json(const boost::json::value& value);

}  // namespace albemu::cli
