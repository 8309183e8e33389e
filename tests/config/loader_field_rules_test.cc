// The single-value syntax rules the loader applies (config/load/field_rules.h).

#include <gtest/gtest.h>

#include "config/load/field_rules.h"

namespace albemu::config {
namespace {

TEST(FieldRules, ResourceNames) {
  EXPECT_TRUE(is_valid_resource_name("a"));
  EXPECT_TRUE(is_valid_resource_name("lb-map-2"));
  EXPECT_TRUE(is_valid_resource_name(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_resource_name(""));
  EXPECT_FALSE(is_valid_resource_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_resource_name("1abc"));
  EXPECT_FALSE(is_valid_resource_name("abc-"));
  EXPECT_FALSE(is_valid_resource_name("Abc"));
  EXPECT_FALSE(is_valid_resource_name("a_b"));
  EXPECT_FALSE(is_valid_resource_name("a.b"));
}

TEST(FieldRules, HostPatternsAccepted) {
  for (const char* host :
       {"*", "example.com", "*.example.com", "*-api.example.com", "api.example.com:8080", "*:443",
        "EXAMPLE.com", "10.0.0.1", "localhost", "a-b.c-d.e"}) {
    EXPECT_EQ(check_host_pattern(host), "") << host;
  }
}

TEST(FieldRules, HostPatternsRejected) {
  for (const char* host :
       {"", "a*.com", "*a.com", "**.com", "a.*.com", "exa mple.com", "a..com", ".a.com",
        "a.com:", "a.com:0", "a.com:65536", "a.com:http", "a/b", "*."}) {
    EXPECT_NE(check_host_pattern(host), "") << host;
  }
}

TEST(FieldRules, PathRulePaths) {
  for (const char* path : {"/", "/*", "/a", "/a/b/*", "/a/b/", "/a.b~c"}) {
    EXPECT_EQ(check_path_rule_path(path), "") << path;
  }
  for (const char* path : {"", "a", "*", "/a*", "/*/a", "/a/**", "/a?x=1", "/a#f", "/a/*/"}) {
    EXPECT_NE(check_path_rule_path(path), "") << path;
  }
  EXPECT_NE(check_path_rule_path("/" + std::string(1024, 'a')), "");
}

TEST(FieldRules, PathTemplatesAndTheirVariables) {
  std::vector<std::string> variables;
  EXPECT_EQ(check_path_template("/{country}/{format}/{suffix=**}", &variables), "");
  EXPECT_EQ(variables, (std::vector<std::string>{"country", "format", "suffix"}));
  EXPECT_EQ(check_path_template("/static/{format=*}/*", &variables), "");
  EXPECT_EQ(variables, std::vector<std::string>{"format"});
  EXPECT_EQ(check_path_template("/a/*/b/**", &variables), "");
  EXPECT_TRUE(variables.empty());
  EXPECT_EQ(check_path_template("/a/", nullptr), "");
  EXPECT_EQ(check_path_template("/*/*/*/*/*", nullptr), "");
}

TEST(FieldRules, PathTemplatesRejected) {
  for (const char* path_template :
       {"", "a", "/{x", "/{x}a", "/a{x}", "/{x=a}", "/{1x}", "/{}", "/**/a/*", "/{x=**}/*",
        "/{x}/{x}", "/*/*/*/*/*/*", "/a//b", "/a b", "/a*"}) {
    EXPECT_NE(check_path_template(path_template, nullptr), "") << path_template;
  }
}

TEST(FieldRules, PathTemplateRewrites) {
  const std::vector<std::string> captured = {"country", "format", "suffix"};
  EXPECT_EQ(check_path_template_rewrite("/content/{format}/{country}/{suffix}", captured), "");
  EXPECT_EQ(check_path_template_rewrite("/content/{format}", captured), "");
  EXPECT_EQ(check_path_template_rewrite("/fixed", captured), "");
  EXPECT_NE(check_path_template_rewrite("/{other}", captured), "");
  EXPECT_NE(check_path_template_rewrite("/a/*", captured), "");
  EXPECT_NE(check_path_template_rewrite("/a/{format", captured), "");
  EXPECT_NE(check_path_template_rewrite("a/{format}", captured), "");
  EXPECT_NE(check_path_template_rewrite("/{format}", {}), "");
}

TEST(FieldRules, CustomHeaderNames) {
  for (const char* name : {"X-Custom", "x-client-cert-present", "Cache-Control", "X-Googlers"}) {
    // "X-Googlers" starts with the reserved "x-google" prefix.
    if (std::string(name) == "X-Googlers") {
      EXPECT_NE(check_custom_header_name(name), "");
    } else {
      EXPECT_EQ(check_custom_header_name(name), "") << name;
    }
  }
  for (const char* name : {"", "X Bad", "X:Bad", "Host", "HOST", "authority", "X-User-IP",
                           "Keep-Alive", "Transfer-Encoding", "TE", "Connection", "Trailer",
                           "Upgrade", "X-Google-A", "x-goog-a", "X-GFE-A", "X-Amz-A"}) {
    EXPECT_NE(check_custom_header_name(name), "") << name;
  }
}

TEST(FieldRules, HeaderValueVariables) {
  EXPECT_EQ(check_header_value_variables("plain"), "");
  for (std::string_view variable : header_value_variables()) {
    std::string value = "x {" + std::string(variable) + "} y";
    EXPECT_EQ(check_header_value_variables(value), "") << value;
  }
  EXPECT_EQ(check_header_value_variables("{\"json\": true}"), "");
  EXPECT_EQ(check_header_value_variables("unclosed {brace"), "");
  EXPECT_EQ(check_header_value_variables("{client_cert_present}"), "");
  EXPECT_EQ(check_header_value_variables("{tls_ja4_fingerprint}"), "");
  EXPECT_NE(check_header_value_variables("{client_region}"), "");
  EXPECT_NE(check_header_value_variables("{tls_version}{nope}"), "");
  // A variable inside literal braces is still checked.
  EXPECT_NE(check_header_value_variables(R"({"a":"{bogus}"})"), "");
  EXPECT_EQ(check_header_value_variables(R"({"a":"{tls_version}"})"), "");
}

TEST(FieldRules, NextHeaderVariableSkipsLiteralBraces) {
  const std::string_view value = R"({"v":"{tls_version}"} {} {x-y})";
  const auto token = next_header_variable(value, 0);
  ASSERT_TRUE(token);
  EXPECT_EQ(value.substr(token->open, token->close - token->open + 1), "{tls_version}");
  EXPECT_FALSE(next_header_variable(value, token->close + 1));
}

TEST(FieldRules, RegexesCompileWithRe2) {
  EXPECT_EQ(check_regex("^/api/v[0-9]+/.*$"), "");
  EXPECT_NE(check_regex("(unclosed").find("missing ): (unclosed"), std::string::npos);
  EXPECT_NE(check_regex("a(?=b)").find("invalid perl operator"), std::string::npos)
      << "lookahead is not RE2";
}

TEST(FieldRules, IpRanges) {
  for (const char* range :
       {"10.0.0.0/8", "192.168.1.1", "0.0.0.0/0", "::/0", "2001:db8::/32", "::1"}) {
    EXPECT_EQ(check_ip_range(range), "") << range;
  }
  for (const char* range : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0", "host",
                            "10.0.0.0/8/8", "10.0.0.0/-1"}) {
    EXPECT_NE(check_ip_range(range), "") << range;
  }
}

}  // namespace
}  // namespace albemu::config
