#pragma once
// A one-shot GET in h2c with prior knowledge: `albemu healthcheck --http2`, the probe of a
// stand-in started with --http2 (which, like a service deployed with --use-http2, speaks
// nothing else).

#include <chrono>

#include "proxy/cli/http_client.h"

namespace albemu::cli {

/// GETs `url` over a fresh connection in h2c with prior knowledge; one deadline covers the
/// whole call. The response holds the status and the body (no fields).
HttpCallResult h2c_get(const HttpUrl& url, std::chrono::milliseconds timeout);

}  // namespace albemu::cli
