#pragma once
// Which resources a compute v1 resource references, and which resources the config files
// (not the API) define: what the API needs for notFound, alreadyExists and in-use answers.

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/resources.h"
#include "proxy/api/compute_resources.h"

namespace albemu::api {

/// The resources `resource` (owned by `owner`) references: full or partial URLs anywhere,
/// and short names in the fields that hold references (defaultService, group, urlMap, ...).
/// A NEG's cloudRun block names a Cloud Run service, not a compute resource: skipped.
std::vector<ResourceKey> references_of(const boost::json::value& resource,
                                       const ResourceKey& owner);

/// Rewrites the references in `resource` to full URLs, as compute returns them.
void expand_references(boost::json::value& resource, const ResourceKey& owner);

/// Every resource of `config` not loaded from one of `api_files` (what the -c files
/// define), Cloud Run stand-ins included (collection "cloudRunServices").
std::vector<ResourceKey> file_defined(const model::Config& config,
                                      const std::vector<std::string>& api_files);

}  // namespace albemu::api
