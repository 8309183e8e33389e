#pragma once

#include <boost/json/object.hpp>

#include "config/model/resources.h"

namespace albemu::admin {

/// The loaded resources as JSON, with the YAML's camelCase field names (a collection
/// document: `project`, `region`, `urlMaps`, ...). References are written as they were given.
/// Unset optional fields are left out. For GET /config; any thread.
boost::json::object config_to_json(const model::Config& config);

}  // namespace albemu::admin
