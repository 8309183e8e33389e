#include "proxy/core/explain.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/load/loader.h"

namespace albemu::core {
namespace {

constexpr std::string_view kConfig = R"yaml(
project: p
region: us-central1
cloudRunServices:
  - name: login
    tags:
      canary: []
  - name: cart
    urls: ["http://cart:8080"]
  - name: greeter
    useHttp2: true
  - name: orders
    url: https://orders-abc123-uc.a.run.app
  - name: billing
    url: https://10.0.0.5:8443/
networkEndpointGroups:
  - name: by-path
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
  - name: tagged
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: <tag>.example.com/<service>
  - name: fixed-cart
    networkEndpointType: SERVERLESS
    cloudRun:
      service: cart
  - name: fixed-greeter
    networkEndpointType: SERVERLESS
    cloudRun:
      service: greeter
backendServices:
  - name: by-path
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: by-path}]
  - name: tagged
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: tagged}]
  - name: cart
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: fixed-cart}]
  - name: greeter-h2
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP2
    backends: [{group: fixed-greeter}]
  - name: greeter-h1
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: fixed-greeter}]
  - name: cart-h2
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP2
    backends: [{group: fixed-cart}]
urlMaps:
  - name: main
    defaultService: by-path
    headerAction:
      responseHeadersToAdd:
        - headerName: x-map
          headerValue: main
    hostRules:
      - hosts: ["*.example.com"]
        pathMatcher: tagged
      - hosts: [shop.test]
        pathMatcher: shop
      - hosts: [grpc.test]
        pathMatcher: grpc
    pathMatchers:
      - name: grpc
        defaultService: greeter-h2
        pathRules:
          - paths: [/h1/*]
            service: greeter-h1
          - paths: [/cart/*]
            service: cart-h2
      - name: tagged
        defaultService: tagged
      - name: shop
        defaultService: cart
        headerAction:
          requestHeadersToAdd:
            - headerName: x-shop
              headerValue: " {{yes}} "
            - headerName: x-tls
              headerValue: "{{{tls_version}}} {client_ip_address}"
          requestHeadersToRemove: [cookie]
        routeRules:
          - priority: 1
            matchRules: [{prefixMatch: /old/}]
            urlRedirect:
              pathRedirect: /new
              redirectResponseCode: FOUND
          - priority: 2
            matchRules: [{prefixMatch: /broken}]
            service: cart
            routeAction:
              faultInjectionPolicy:
                abort: {httpStatus: 418, percentage: 100}
          - priority: 3
            matchRules: [{prefixMatch: /api/}]
            service: cart
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /v2/
                hostRewrite: cart.internal
              timeout: {seconds: 5}
  - name: other
    defaultService: cart
targetHttpProxies:
  - name: main-proxy
    urlMap: main
  - name: other-proxy
    urlMap: other
forwardingRules:
  - name: main-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "8080"
    target: main-proxy
  - name: other-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "9090"
    target: other-proxy
)yaml";

class ExplainRouteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto result = core::build_snapshot(config::load_config_text(kConfig, "explain_test.yaml"), 7);
    ASSERT_TRUE(result.snapshot) << config::format_errors(result.errors);
    snapshot_ = result.snapshot;
  }
  static void TearDownTestSuite() { snapshot_.reset(); }

  static boost::json::object explain(std::string url,
                                     std::vector<std::pair<std::string, std::string>> headers = {},
                                     std::string forwarding_rule = {}) {
    ExplainRequest request;
    request.url = std::move(url);
    request.headers = std::move(headers);
    request.forwarding_rule = std::move(forwarding_rule);
    return explain_route(*snapshot_, request);
  }

  static std::shared_ptr<const core::ConfigSnapshot> snapshot_;
};

std::shared_ptr<const core::ConfigSnapshot> ExplainRouteTest::snapshot_;

TEST_F(ExplainRouteTest, ForwardThroughAPathMaskNamesEveryHop) {
  const auto out = explain("http://127.0.0.1:8080/login/web?x=1");
  EXPECT_EQ(out.at("forwardingRule"), "main-rule");
  EXPECT_EQ(out.at("targetProxy"), "main-proxy");
  EXPECT_EQ(out.at("urlMap"), "main");
  EXPECT_TRUE(out.at("hostRule").is_null());
  EXPECT_TRUE(out.at("pathMatcher").is_null());
  EXPECT_EQ(out.at("matchedRule"), "UNMATCHED");
  EXPECT_EQ(out.at("action"), "forward");
  EXPECT_EQ(out.at("backendService"), "by-path");
  EXPECT_EQ(out.at("networkEndpointGroup"), "by-path");
  EXPECT_EQ(out.at("cloudRunService"), "login");
  EXPECT_TRUE(out.at("tag").is_null());
  EXPECT_EQ(out.at("endpoints"), boost::json::array());
  EXPECT_EQ(out.at("upstreamUrl"), "http://127.0.0.1:8080/login/web?x=1");
  EXPECT_TRUE(out.at("status").is_null());
  EXPECT_TRUE(out.at("proxyStatus").is_null());
  ASSERT_EQ(out.at("responseHeadersToAdd").as_array().size(), 1u);
  EXPECT_EQ(out.at("responseHeadersToAdd").at(0).at("headerName"), "x-map");
}

TEST_F(ExplainRouteTest, TagAndServiceFromAHostAndPathMask) {
  const auto out = explain("http://127.0.0.1:8080/login/home", {{"Host", "canary.example.com"}});
  EXPECT_EQ(out.at("hostRule"), boost::json::array({"*.example.com"}));
  EXPECT_EQ(out.at("pathMatcher"), "tagged");
  EXPECT_EQ(out.at("backendService"), "tagged");
  EXPECT_EQ(out.at("cloudRunService"), "login");
  EXPECT_EQ(out.at("tag"), "canary");
  EXPECT_EQ(out.at("upstreamUrl"), "http://canary.example.com/login/home");
}

TEST_F(ExplainRouteTest, UnknownServiceIsFailedToPickBackend) {
  const auto out = explain("http://127.0.0.1:8080/nosuch/web");
  EXPECT_EQ(out.at("action"), "error");
  EXPECT_EQ(out.at("backendService"), "by-path");
  EXPECT_EQ(out.at("status").to_number<int>(), 503);
  EXPECT_EQ(out.at("proxyStatus"),
            R"(error="destination_unavailable"; details="failed_to_pick_backend")");
  EXPECT_TRUE(out.at("cloudRunService").is_null());
}

TEST_F(ExplainRouteTest, UnknownTagIsFailedToPickBackend) {
  const auto out = explain("http://x/login/home", {{"Host", "beta.example.com"}});
  EXPECT_EQ(out.at("action"), "error");
  EXPECT_EQ(out.at("status").to_number<int>(), 503);
}

TEST_F(ExplainRouteTest, RewritesShowInTheUpstreamUrlAndHeaderActionsAreMerged) {
  const auto out = explain("http://127.0.0.1:8080/api/items?id=3", {{"Host", "shop.test"}});
  EXPECT_EQ(out.at("pathMatcher"), "shop");
  EXPECT_NE(out.at("matchedRule"), "UNMATCHED");
  EXPECT_EQ(out.at("action"), "forward");
  EXPECT_EQ(out.at("backendService"), "cart");
  EXPECT_EQ(out.at("networkEndpointGroup"), "fixed-cart");
  EXPECT_EQ(out.at("cloudRunService"), "cart");
  EXPECT_EQ(out.at("endpoints"), boost::json::array({"http://cart:8080"}));
  EXPECT_EQ(out.at("upstreamUrl"), "http://cart.internal/v2/items?id=3");
  EXPECT_EQ(out.at("timeoutMs").to_number<int>(), 5000);
  ASSERT_EQ(out.at("requestHeadersToAdd").as_array().size(), 2u);
  // A literal value is shown as sent; one with variables names what is expanded per request.
  const auto& shop = out.at("requestHeadersToAdd").at(0).as_object();
  EXPECT_EQ(shop.at("headerName"), "x-shop");
  EXPECT_EQ(shop.at("headerValue"), "{yes}");
  EXPECT_EQ(shop.count("variables"), 0u);
  const auto& tls = out.at("requestHeadersToAdd").at(1).as_object();
  EXPECT_EQ(tls.at("headerValue"), "{{{tls_version}}} {client_ip_address}");
  EXPECT_EQ(tls.at("variables"), boost::json::array({"tls_version", "client_ip_address"}));
  EXPECT_EQ(out.at("requestHeadersToRemove"), boost::json::array({"cookie"}));
  ASSERT_EQ(out.at("responseHeadersToAdd").as_array().size(), 1u);
}

TEST_F(ExplainRouteTest, RedirectHasStatusAndLocation) {
  const auto out = explain("http://shop.test:8080/old/page");
  EXPECT_EQ(out.at("action"), "redirect");
  EXPECT_EQ(out.at("status").to_number<int>(), 302);
  EXPECT_NE(out.at("location").as_string().find("/new"), boost::json::string::npos);
  EXPECT_TRUE(out.at("backendService").is_null());
}

TEST_F(ExplainRouteTest, FullFaultAbortIsTheDecision) {
  const auto out = explain("http://shop.test:8080/broken");
  EXPECT_EQ(out.at("action"), "abort");
  EXPECT_EQ(out.at("status").to_number<int>(), 418);
  EXPECT_EQ(out.at("faultInjection").at("abort").at("httpStatus").to_number<int>(), 418);
  EXPECT_TRUE(out.at("proxyStatus").is_string());
}

TEST_F(ExplainRouteTest, ForwardingRuleChosenByPortThenByName) {
  EXPECT_EQ(explain("http://127.0.0.1:9090/login").at("forwardingRule"), "other-rule");
  EXPECT_EQ(explain("http://127.0.0.1:9090/login").at("urlMap"), "other");
  // No rule on port 1234: the first rule.
  EXPECT_EQ(explain("http://127.0.0.1:1234/login").at("forwardingRule"), "main-rule");
  const auto named = explain("http://127.0.0.1:8080/login", {}, "other-rule");
  EXPECT_EQ(named.at("forwardingRule"), "other-rule");
  EXPECT_EQ(named.at("backendService"), "cart");
}

TEST_F(ExplainRouteTest, UnknownForwardingRuleAndBadUrlsAreErrors) {
  const auto unknown = explain("http://127.0.0.1:8080/", {}, "nope");
  EXPECT_EQ(unknown.at("action"), "error");
  EXPECT_TRUE(unknown.at("status").is_null());
  EXPECT_NE(unknown.at("error").as_string().find("nope"), boost::json::string::npos);
  for (const char* url : {"/relative", "ftp://x/", "http:///path", "http://x:99999/"}) {
    const auto out = explain(url);
    EXPECT_EQ(out.at("action"), "error") << url;
    EXPECT_TRUE(out.at("error").is_string()) << url;
  }
}

TEST_F(ExplainRouteTest, HopsFollowTheBackendServiceProtocolAndTheServicesUseHttp2) {
  const std::vector<std::pair<std::string, std::string>> grpc = {
      {"Host", "grpc.test"}, {"Content-Type", "application/grpc+proto"}};

  auto out = explain("http://127.0.0.1:8080/greeter.Greeter/SayHello", grpc);
  EXPECT_EQ(out.at("backendService"), "greeter-h2");
  EXPECT_EQ(out.at("hops").at("loadBalancerToCloudRun"), "HTTP/2");
  EXPECT_EQ(out.at("hops").at("cloudRunToContainer"), "h2c");
  EXPECT_TRUE(out.at("warning").is_null());

  // The default protocol (HTTP) carries HTTP/1.1 to Cloud Run: no trailers, so no gRPC.
  out = explain("http://127.0.0.1:8080/h1/x", grpc);
  EXPECT_EQ(out.at("backendService"), "greeter-h1");
  EXPECT_EQ(out.at("hops").at("loadBalancerToCloudRun"), "HTTP/1.1");
  EXPECT_EQ(out.at("hops").at("cloudRunToContainer"), "h2c");
  ASSERT_TRUE(out.at("warning").is_string());
  EXPECT_NE(out.at("warning").as_string().find("protocol: HTTP2"), boost::json::string::npos);

  // The same hop is fine for anything that is not gRPC: Cloud Run speaks h2c to the container.
  out = explain("http://127.0.0.1:8080/h1/x", {{"Host", "grpc.test"}});
  EXPECT_EQ(out.at("hops").at("cloudRunToContainer"), "h2c");
  EXPECT_TRUE(out.at("warning").is_null());

  // HTTP/2 to Cloud Run, but a container deployed without --use-http2 gets HTTP/1.1.
  out = explain("http://127.0.0.1:8080/cart/x", grpc);
  EXPECT_EQ(out.at("backendService"), "cart-h2");
  EXPECT_EQ(out.at("hops").at("loadBalancerToCloudRun"), "HTTP/2");
  EXPECT_EQ(out.at("hops").at("cloudRunToContainer"), "HTTP/1.1");
  ASSERT_TRUE(out.at("warning").is_string());
  EXPECT_NE(out.at("warning").as_string().find("'cart'"), boost::json::string::npos);
}

TEST_F(ExplainRouteTest, HasEveryDocumentedKey) {
  const auto out = explain("http://127.0.0.1:8080/login");
  for (const char* key : {"forwardingRule",
                          "targetProxy",
                          "urlMap",
                          "hostRule",
                          "pathMatcher",
                          "matchedRule",
                          "action",
                          "backendService",
                          "networkEndpointGroup",
                          "cloudRunService",
                          "tag",
                          "upstreamUrl",
                          "hops",
                          "warning",
                          "status",
                          "location",
                          "requestHeadersToAdd",
                          "requestHeadersToRemove",
                          "responseHeadersToAdd",
                          "responseHeadersToRemove",
                          "proxyStatus"}) {
    EXPECT_TRUE(out.contains(key)) << key;
  }
}

TEST_F(ExplainRouteTest, HttpsServiceShowsItsUrlSniAndVerification) {
  const auto out = explain("http://127.0.0.1:8080/orders/list?page=2");
  EXPECT_EQ(out.at("cloudRunService"), "orders");
  // albemu reaches the service's own URL, with its host as Host.
  EXPECT_EQ(out.at("upstreamUrl"), "https://orders-abc123-uc.a.run.app/orders/list?page=2");
  const auto& tls = out.at("serviceTls").as_object();
  EXPECT_EQ(tls.at("sni"), "orders-abc123-uc.a.run.app");
  EXPECT_EQ(tls.at("verifiedName"), "orders-abc123-uc.a.run.app");
  EXPECT_EQ(tls.at("trustedCas"), boost::json::array({"system trust store"}));
}

TEST_F(ExplainRouteTest, HttpsServiceAtAnAddressHasNoSni) {
  const auto out = explain("http://127.0.0.1:8080/billing/pay");
  EXPECT_EQ(out.at("upstreamUrl"), "https://10.0.0.5:8443/billing/pay");
  const auto& tls = out.at("serviceTls").as_object();
  EXPECT_TRUE(tls.at("sni").is_null());
  EXPECT_EQ(tls.at("verifiedName"), "10.0.0.5");
}

TEST_F(ExplainRouteTest, HttpServiceHasNoServiceTls) {
  EXPECT_TRUE(explain("http://127.0.0.1:8080/cart/x").at("serviceTls").is_null());
}

}  // namespace
}  // namespace albemu::core
