#pragma once

#include <vector>

#include "proxy/core/snapshot.h"

namespace albemu::core {

/// Runs a URL map's `tests` against its compiled table, as `gcloud compute url-maps validate`
/// does. Requests are routed as plain HTTP, so an httpsRedirect shows up as an https Location.
std::vector<UrlMapTestFailure> run_url_map_tests(const model::UrlMap& url_map,
                                                 const CompiledUrlMap& compiled);

}  // namespace albemu::core
