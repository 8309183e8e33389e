#include "proxy/net/header_transform.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/core/url_map.h"

namespace albemu::net {
namespace {
namespace http = boost::beast::http;

template <class Fields>
std::vector<std::string> values(const Fields& fields, std::string_view name) {
  std::vector<std::string> out;
  for_each_value(fields, name, [&](std::string_view value) { out.emplace_back(value); });
  return out;
}

template <class Fields>
std::string value(const Fields& fields, std::string_view name) {
  const auto it = fields.find(name);
  return it == fields.end() ? std::string("<absent>") : std::string(it->value());
}

const UpstreamRequestContext kContext{"10.1.2.3", "10.1.2.99", false, nullptr};

// Every rule runs on Beast's fields (answers albemu writes) and on HeadFields (the proxied
// path); both must end up the same.
template <class Fields>
class HeaderTransform : public ::testing::Test {};
using FieldTypes = ::testing::Types<http::fields, HeadFields>;
TYPED_TEST_SUITE(HeaderTransform, FieldTypes);

TYPED_TEST(HeaderTransform, XForwardedForWithoutIncomingValue) {
  TypeParam fields;
  core::RouteDecision decision;
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(value(fields, "X-Forwarded-For"), "10.1.2.3,10.1.2.99");
  EXPECT_EQ(value(fields, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(value(fields, "Via"), "1.1 google");
}

TYPED_TEST(HeaderTransform, XForwardedForAppendsToIncoming) {
  TypeParam fields;
  fields.insert("X-Forwarded-For", "203.0.113.1");
  fields.insert("x-forwarded-for", "198.51.100.2");  // two lines: combined in order
  fields.insert("Via", "1.0 corp-proxy");
  core::RouteDecision decision;
  UpstreamRequestContext context = kContext;
  context.https = true;
  transform_upstream_request(fields, decision, context);
  EXPECT_EQ(values(fields, "X-Forwarded-For"),
            std::vector<std::string>{"203.0.113.1,198.51.100.2,10.1.2.3,10.1.2.99"});
  EXPECT_EQ(value(fields, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(values(fields, "Via"), std::vector<std::string>{"1.0 corp-proxy, 1.1 google"});
}

TYPED_TEST(HeaderTransform, RemovesHopByHopAndNominatedHeaders) {
  TypeParam fields;
  fields.insert("Connection", "keep-alive, X-Secret");
  fields.insert("Connection", "x-other");
  fields.insert("Keep-Alive", "timeout=5");
  fields.insert("Proxy-Authorization", "Basic Zm9v");
  fields.insert("Proxy-Authenticate", "Basic");
  fields.insert("TE", "trailers");
  fields.insert("Trailer", "X-Checksum");
  fields.insert("Transfer-Encoding", "chunked");
  fields.insert("Upgrade", "h2c");
  fields.insert("X-Secret", "s");
  fields.insert("X-Other", "o");
  fields.insert("Content-Length", "10");
  fields.insert("Host", "app.example.com");
  fields.insert("X-Kept", "yes");
  core::RouteDecision decision;
  transform_upstream_request(fields, decision, kContext);
  for (const char* gone :
       {"Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "X-Secret", "X-Other"}) {
    EXPECT_EQ(fields.count(gone), 0u) << gone;
  }
  EXPECT_EQ(value(fields, "Content-Length"), "10");
  EXPECT_EQ(value(fields, "Host"), "app.example.com");  // kept: no hostRewrite
  EXPECT_EQ(value(fields, "X-Kept"), "yes");
}

TYPED_TEST(HeaderTransform, ConnectionCannotRemoveHost) {
  TypeParam fields;
  fields.insert("Connection", "Host");
  fields.insert("Host", "app.example.com");
  core::RouteDecision decision;
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(value(fields, "Host"), "app.example.com");
}

TYPED_TEST(HeaderTransform, WebSocketUpgradeKeepsUpgradeHeaders) {
  TypeParam fields;
  fields.insert("Connection", "keep-alive, Upgrade");
  fields.insert("Upgrade", "websocket");
  fields.insert("Keep-Alive", "timeout=5");
  fields.insert("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(is_websocket_upgrade(fields));
  core::RouteDecision decision;
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(value(fields, "Connection"), "upgrade");
  EXPECT_EQ(value(fields, "Upgrade"), "websocket");
  EXPECT_EQ(fields.count("Keep-Alive"), 0u);
  EXPECT_EQ(value(fields, "Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");

  TypeParam not_websocket;
  not_websocket.insert("Connection", "Upgrade");
  not_websocket.insert("Upgrade", "h2c");
  EXPECT_FALSE(is_websocket_upgrade(not_websocket));
}

TYPED_TEST(HeaderTransform, HostRewrite) {
  TypeParam fields;
  fields.insert("Host", "app.example.com");
  core::RouteDecision decision;
  decision.upstream_host = "login.internal";
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(values(fields, "Host"), std::vector<std::string>{"login.internal"});
}

TYPED_TEST(HeaderTransform, RequestHeaderActionsMostSpecificFirst) {
  core::CompiledHeaderAction weighted;  // level 1
  weighted.request_headers_to_add = {{"X-Level", "weighted", true, false},
                                     {"X-Append", "one", false, false}};
  core::CompiledHeaderAction route_rule;  // level 2
  route_rule.request_headers_to_add = {{"X-Append", "two", false, false}};
  route_rule.request_headers_to_remove = {"X-Client-Secret"};
  core::CompiledHeaderAction url_map;  // level 4: runs last, wins replace conflicts
  url_map.request_headers_to_add = {{"X-Level", "url-map", true, false}};
  url_map.response_headers_to_add = {{"X-Response", "r", true, false}};

  core::RouteDecision decision;
  decision.header_actions = {&weighted, &route_rule, nullptr, &url_map};
  TypeParam fields;
  fields.insert("X-Client-Secret", "leak");
  fields.insert("X-Append", "client");
  fields.insert("X-Level", "client");
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(values(fields, "X-Level"), std::vector<std::string>{"url-map"});
  EXPECT_EQ(values(fields, "X-Append"), (std::vector<std::string>{"client", "one", "two"}));
  EXPECT_EQ(fields.count("X-Client-Secret"), 0u);
  EXPECT_EQ(fields.count("X-Response"), 0u) << "response actions stay off requests";
}

TYPED_TEST(HeaderTransform, HeaderActionCanRemoveWhatInnerLevelAdded) {
  core::CompiledHeaderAction inner;
  inner.request_headers_to_add = {{"X-Debug", "1", true, false}};
  core::CompiledHeaderAction outer;
  outer.request_headers_to_remove = {"x-debug"};
  core::RouteDecision decision;
  decision.header_actions = {nullptr, &inner, &outer, nullptr};
  TypeParam fields;
  transform_upstream_request(fields, decision, kContext);
  EXPECT_EQ(fields.count("X-Debug"), 0u);
}

TYPED_TEST(HeaderTransform, VariablesExpand) {
  VariableContext variables;
  variables.tls_sni_hostname = "app.example.com";
  variables.tls_version = "TLSv1.3";
  variables.tls_cipher_suite = "1301";
  variables.client_rtt_msec = 12;
  variables.client_ip_address = "10.1.2.3";
  EXPECT_EQ(expand_header_variables("ip={client_ip_address}", &variables), "ip=10.1.2.3");
  EXPECT_EQ(
      expand_header_variables(
          "{tls_sni_hostname}|{tls_version}|{tls_cipher_suite}|{client_rtt_msec}ms", &variables),
      "app.example.com|TLSv1.3|1301|12ms");
  // Without mutual TLS the client_cert_* variables have no value: GCP expands them to "".
  EXPECT_EQ(expand_header_variables(
                "cert={client_cert_present} sha={client_cert_sha256_fingerprint}.", &variables),
            "cert= sha=.");
  ClientCertInfo cert;
  cert.present = true;
  cert.error = "client_cert_validation_failed";
  cert.sha256_fingerprint = "abc=";
  variables.client_cert = &cert;
  EXPECT_EQ(expand_header_variables("{client_cert_present}|{client_cert_chain_verified}|"
                                    "{client_cert_error}|{client_cert_sha256_fingerprint}",
                                    &variables),
            "true|false|client_cert_validation_failed|abc=");
  // Fingerprints: empty unless the listener computes them.
  EXPECT_EQ(expand_header_variables("[{tls_ja3_fingerprint}][{tls_ja4_fingerprint}]", &variables),
            "[][]");
  variables.tls_ja3_fingerprint = "579ccef312d18482fc42e2b822ca2430";
  variables.tls_ja4_fingerprint = "t13d1715h2_5b57614c22b0_3d5424432f57";
  EXPECT_EQ(expand_header_variables("{tls_ja3_fingerprint} {tls_ja4_fingerprint}", &variables),
            "579ccef312d18482fc42e2b822ca2430 t13d1715h2_5b57614c22b0_3d5424432f57");
  EXPECT_EQ(expand_header_variables("unterminated {tls_version", &variables),
            "unterminated {tls_version");
  EXPECT_EQ(expand_header_variables("{client_rtt_msec}", nullptr), "");
  // Braces that are not a variable token stay, also around and between variables.
  EXPECT_EQ(
      expand_header_variables(R"({"tls":"{tls_version}","rtt":{client_rtt_msec}})", &variables),
      R"({"tls":"TLSv1.3","rtt":12})");
  EXPECT_EQ(expand_header_variables("{} {not a var} {{tls_version}}", &variables),
            "{} {not a var} {tls_version}");
  EXPECT_EQ(expand_header_variables("{{{tls_version}}} ", &variables), "{TLSv1.3}");

  core::CompiledHeaderAction action;
  action.request_headers_to_add = {{"X-Sni", "{tls_sni_hostname}", true, true}};
  action.response_headers_to_add = {{"X-Tls", "{tls_version}", false, true}};
  core::RouteDecision decision;
  decision.header_actions = {nullptr, nullptr, nullptr, &action};
  UpstreamRequestContext context = kContext;
  context.variables = &variables;
  TypeParam request;
  transform_upstream_request(request, decision, context);
  EXPECT_EQ(value(request, "X-Sni"), "app.example.com");

  TypeParam response;
  transform_response(response, &decision, &variables);
  EXPECT_EQ(value(response, "X-Tls"), "TLSv1.3");
}

TYPED_TEST(HeaderTransform, ResponseTransform) {
  core::CompiledHeaderAction route_rule;
  route_rule.response_headers_to_add = {{"X-Served-By", "route", true, false}};
  route_rule.response_headers_to_remove = {"Server"};
  core::CompiledHeaderAction url_map;
  url_map.response_headers_to_add = {{"X-Served-By", "map", false, false}};
  core::RouteDecision decision;
  decision.header_actions = {nullptr, &route_rule, nullptr, &url_map};

  TypeParam fields;
  fields.insert("Connection", "close, X-Internal");
  fields.insert("X-Internal", "1");
  fields.insert("Keep-Alive", "timeout=5");
  fields.insert("Transfer-Encoding", "chunked");
  fields.insert("Server", "gunicorn");
  fields.insert("Via", "1.1 backend-proxy");
  transform_response(fields, &decision, nullptr);
  for (const char* gone :
       {"Connection", "X-Internal", "Keep-Alive", "Transfer-Encoding", "Server"}) {
    EXPECT_EQ(fields.count(gone), 0u) << gone;
  }
  EXPECT_EQ(value(fields, "Via"), "1.1 backend-proxy, 1.1 google");
  EXPECT_EQ(values(fields, "X-Served-By"), (std::vector<std::string>{"route", "map"}));

  // An LB-generated answer (no decision) only gets Via.
  TypeParam generated;
  transform_response(generated, nullptr, nullptr);
  EXPECT_EQ(value(generated, "Via"), "1.1 google");
}

TYPED_TEST(HeaderTransform, WebSocketSwitchingProtocolsResponse) {
  TypeParam fields;
  fields.insert("Connection", "Upgrade");
  fields.insert("Upgrade", "websocket");
  fields.insert("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  transform_response(fields, nullptr, nullptr, /*websocket_upgrade=*/true);
  EXPECT_EQ(value(fields, "Connection"), "upgrade");
  EXPECT_EQ(value(fields, "Upgrade"), "websocket");
  EXPECT_EQ(value(fields, "Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  TypeParam plain = fields;
  transform_response(plain, nullptr, nullptr, /*websocket_upgrade=*/false);
  EXPECT_EQ(plain.count("Upgrade"), 0u);
}

}  // namespace
}  // namespace albemu::net
