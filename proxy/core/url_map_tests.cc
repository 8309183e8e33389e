#include "proxy/core/url_map_tests.h"

#include <algorithm>
#include <string_view>

#include "proxy/core/ascii.h"

namespace albemu::core {
namespace {

std::string_view without_scheme(std::string_view url) {
  const size_t separator = url.find("://");
  return separator == std::string_view::npos ? url : url.substr(separator + 3);
}

// The URL the backend would see: scheme://host/path?query after rewrites.
std::string forwarded_url(const RouteDecision& decision, const RouteRequest& request) {
  std::string url(request.scheme);
  url += "://";
  url += decision.upstream_host.empty() ? request.host : std::string_view(decision.upstream_host);
  url += decision.upstream_target.empty() ? request.target
                                          : std::string_view(decision.upstream_target);
  return url;
}

struct Outcome {
  RouteDecision decision;
  std::string output_url;
};

Outcome route_test(const CompiledUrlMap& compiled, const RouteRequest& request, uint32_t draw) {
  Outcome outcome{compiled.route(request, draw), {}};
  outcome.output_url = outcome.decision.action == RouteAction::kRedirect
                           ? outcome.decision.location
                           : forwarded_url(outcome.decision, request);
  return outcome;
}

// Compares one outcome with the test's expectations; empty message means it passed.
std::string check(const model::UrlMapTest& test, const Outcome& outcome) {
  const RouteDecision& decision = outcome.decision;
  const bool redirected = decision.action == RouteAction::kRedirect;
  std::string message;
  auto fail = [&](const std::string& why) {
    if (!message.empty()) message += "; ";
    message += why;
  };
  if (test.service) {
    if (redirected) {
      fail("expected backend service '" + test.service->name + "' but the request is redirected (" +
           std::to_string(decision.status) + " to " + decision.location + ")");
    } else if (decision.backend_service != test.service->name) {
      fail("expected backend service '" + test.service->name + "' but got '" +
           std::string(decision.backend_service) + "'");
    }
  }
  if (test.expected_redirect_response_code) {
    if (!redirected) {
      fail("expected a " + std::to_string(*test.expected_redirect_response_code) +
           " redirect but the request is forwarded to '" + std::string(decision.backend_service) +
           "'");
    } else if (decision.status != *test.expected_redirect_response_code) {
      fail("expected redirect code " + std::to_string(*test.expected_redirect_response_code) +
           " but got " + std::to_string(decision.status));
    }
  }
  if (test.expected_output_url) {
    const std::string& expected = *test.expected_output_url;
    // A forwarded URL's scheme is not checked when the test names a service (GCP's rule); a
    // redirect's Location is compared whole, since httpsRedirect changes the scheme.
    const bool ignore_scheme =
        (!redirected && test.service) || expected.find("://") == std::string::npos;
    const bool equal = ignore_scheme
                           ? without_scheme(expected) == without_scheme(outcome.output_url)
                           : expected == outcome.output_url;
    if (!equal) {
      fail(std::string(redirected ? "expected redirect location '" : "expected output URL '") +
           expected + "' but got '" + outcome.output_url + "'");
    }
  }
  return message;
}

}  // namespace

std::vector<UrlMapTestFailure> run_url_map_tests(const model::UrlMap& url_map,
                                                 const CompiledUrlMap& compiled) {
  std::vector<UrlMapTestFailure> failures;
  for (const model::UrlMapTest& test : url_map.tests) {
    std::vector<HeaderView> headers;
    std::string_view host = test.host;
    for (const model::UrlMapTestHeader& header : test.headers) {
      headers.push_back({header.name, header.value});
      if (host.empty() && iequals_ascii(header.name, "host")) host = header.value;
    }
    if (!host.empty() && std::none_of(test.headers.begin(), test.headers.end(), [](const auto& h) {
          return iequals_ascii(h.name, "host");
        })) {
      headers.push_back({"Host", host});
    }
    RouteRequest request;
    request.host = host;
    request.target = test.path.empty() ? std::string_view("/") : std::string_view(test.path);
    request.headers = headers;

    // A weighted split may legitimately send the request to any of its services, so the
    // test passes if one draw across the range satisfies it (1,024 evenly spaced draws).
    Outcome outcome = route_test(compiled, request, 0);
    std::string message = check(test, outcome);
    if (!message.empty() && test.service) {
      for (uint64_t step = 1; step < 1024 && !message.empty(); ++step) {
        Outcome other = route_test(compiled, request, static_cast<uint32_t>(step << 22));
        if (other.decision.backend_service == outcome.decision.backend_service) continue;
        if (check(test, other).empty()) message.clear();
      }
    }
    if (message.empty()) continue;

    UrlMapTestFailure failure;
    failure.host = std::string(host);
    failure.path = test.path;
    failure.headers = test.headers;
    if (test.service) failure.expected_service = test.service->name;
    failure.actual_service = std::string(outcome.decision.backend_service);
    failure.expected_output_url = test.expected_output_url.value_or("");
    failure.actual_output_url = outcome.output_url;
    failure.expected_redirect_response_code = test.expected_redirect_response_code.value_or(0);
    failure.actual_redirect_response_code =
        outcome.decision.action == RouteAction::kRedirect ? outcome.decision.status : 0;
    const std::string name = test.description.empty() ? "" : " '" + test.description + "'";
    failure.message = "test" + name;
    failure.message += " (" + failure.host + failure.path + "): ";
    failure.message += message;
    failures.push_back(std::move(failure));
  }
  return failures;
}

}  // namespace albemu::core
