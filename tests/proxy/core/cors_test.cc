#include "proxy/core/cors.h"

#include <gtest/gtest.h>

#include <map>

namespace albemu::core {
namespace {

model::CorsPolicy policy() {
  model::CorsPolicy cors;
  cors.allow_origins = {"https://app.example.com", "https://admin.example.com"};
  cors.allow_methods = {"GET", "POST"};
  cors.allow_headers = {"X-Custom", "Content-Type"};
  cors.expose_headers = {"X-Trace"};
  cors.max_age = 600;
  cors.allow_credentials = true;
  return cors;
}

std::map<std::string, std::string> as_map(const CorsHeaders& headers) {
  std::map<std::string, std::string> out;
  for (const auto& header : headers) out.emplace(std::string(header.name), header.value);
  return out;
}

const std::vector<HeaderView> kPreflight = {
    {"Origin", "https://app.example.com"},
    {"Access-Control-Request-Method", "POST"},
};

TEST(Cors, DetectsPreflight) {
  EXPECT_TRUE(is_cors_preflight("OPTIONS", kPreflight));
  EXPECT_FALSE(is_cors_preflight("GET", kPreflight));
  const std::vector<HeaderView> origin_only = {{"origin", "https://app.example.com"}};
  EXPECT_FALSE(is_cors_preflight("OPTIONS", origin_only));
}

TEST(Cors, PreflightFromAllowedOrigin) {
  CorsHeaders out;
  ASSERT_TRUE(cors_preflight_response(policy(), "OPTIONS", kPreflight, out));
  const auto headers = as_map(out);
  EXPECT_EQ(headers.at("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(headers.at("Access-Control-Allow-Methods"), "GET,POST");
  EXPECT_EQ(headers.at("Access-Control-Allow-Headers"), "X-Custom,Content-Type");
  EXPECT_EQ(headers.at("Access-Control-Max-Age"), "600");
  EXPECT_EQ(headers.at("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(headers.count("Access-Control-Expose-Headers"), 0u);
}

TEST(Cors, PreflightFromOtherOriginIsForwarded) {
  const std::vector<HeaderView> request = {
      {"origin", "https://evil.example.net"},
      {"access-control-request-method", "POST"},
  };
  CorsHeaders out;
  EXPECT_FALSE(cors_preflight_response(policy(), "OPTIONS", request, out));
  EXPECT_TRUE(out.empty());
}

TEST(Cors, DisabledPolicyDoesNothing) {
  model::CorsPolicy cors = policy();
  cors.disabled = true;
  CorsHeaders out;
  EXPECT_FALSE(cors_preflight_response(cors, "OPTIONS", kPreflight, out));
  cors_response_headers(cors, kPreflight, out);
  EXPECT_TRUE(out.empty());
}

TEST(Cors, WildcardOrigin) {
  model::CorsPolicy cors;
  cors.allow_origins = {"*"};
  const std::vector<HeaderView> request = {{"Origin", "http://anything.test"}};
  CorsHeaders out;
  cors_response_headers(cors, request, out);
  EXPECT_EQ(as_map(out).at("Access-Control-Allow-Origin"), "*");
  // With credentials a browser rejects `*`, so the origin is echoed.
  cors.allow_credentials = true;
  out.clear();
  cors_response_headers(cors, request, out);
  EXPECT_EQ(as_map(out).at("Access-Control-Allow-Origin"), "http://anything.test");
}

TEST(Cors, ActualResponseHeaders) {
  const std::vector<HeaderView> allowed = {{"ORIGIN", "https://admin.example.com"}};
  CorsHeaders out;
  cors_response_headers(policy(), allowed, out);
  const auto headers = as_map(out);
  EXPECT_EQ(headers.at("Access-Control-Allow-Origin"), "https://admin.example.com");
  EXPECT_EQ(headers.at("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(headers.at("Access-Control-Expose-Headers"), "X-Trace");
  EXPECT_EQ(headers.count("Access-Control-Allow-Methods"), 0u);

  const std::vector<HeaderView> denied = {{"Origin", "https://app.example.com.evil.net"}};
  out.clear();
  cors_response_headers(policy(), denied, out);
  EXPECT_TRUE(out.empty());

  const std::vector<HeaderView> no_origin = {{"Host", "app.example.com"}};
  cors_response_headers(policy(), no_origin, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(allowed_cors_origin(policy(), allowed), "https://admin.example.com");
}

}  // namespace
}  // namespace albemu::core
