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
  EXPECT_EQ(check_header_value("plain"), "");
  for (std::string_view variable : header_value_variables()) {
    std::string value = "x {" + std::string(variable) + "} y";
    EXPECT_EQ(check_header_value(value), "") << value;
  }
  EXPECT_EQ(check_header_value("{\"json\": true}"), "");
  EXPECT_EQ(check_header_value("unclosed {brace"), "");
  EXPECT_EQ(check_header_value("{client_cert_present}"), "");
  EXPECT_EQ(check_header_value("{tls_ja4_fingerprint}"), "");
  EXPECT_NE(check_header_value("{client_region}"), "");
  EXPECT_NE(check_header_value("{tls_version}{nope}"), "");
  // A variable inside literal braces is still checked.
  EXPECT_NE(check_header_value(R"({"a":"{bogus}"})"), "");
  EXPECT_EQ(check_header_value(R"({"a":"{tls_version}"})"), "");
}

TEST(FieldRules, HeaderValueTokensSkipLiteralBraces) {
  const std::string_view value = R"({"v":"{tls_version}"} {} {x-y} {{a}})";
  auto token = next_header_value_token(value, 0);
  ASSERT_TRUE(token);
  EXPECT_FALSE(token->escape);
  EXPECT_EQ(token->variable(value), "tls_version");
  token = next_header_value_token(value, token->close + 1);
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->escape);
  EXPECT_EQ(value.substr(token->open, 2), "{{");
  token = next_header_value_token(value, token->close + 1);
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->escape);
  EXPECT_EQ(value.substr(token->open, 2), "}}");
  EXPECT_FALSE(next_header_value_token(value, token->close + 1));
  EXPECT_TRUE(has_header_variable("a {tls_version}"));
  EXPECT_FALSE(has_header_variable("{{tls_version}}"));
  EXPECT_FALSE(has_header_variable("{not a name} {} {unclosed"));
}

TEST(FieldRules, HeaderValueExpansion) {
  const auto expand = [](std::string_view value) {
    std::string out = "kept|";
    expand_header_value(
        value, [](std::string_view name) { return name == "v" ? "1.3" : ""; }, out);
    return out;
  };
  EXPECT_EQ(expand("{{v}} is {v}"), "kept|{v} is 1.3");
  EXPECT_EQ(expand("{{{v}}}"), "kept|{1.3}");
  EXPECT_EQ(expand(R"({"a":{"v":"{v}"}}}})"), R"(kept|{"a":{"v":"1.3"}})");
  EXPECT_EQ(expand("  {v}\t"), "kept|1.3");
  EXPECT_EQ(expand(" {none} "), "kept|");
  EXPECT_EQ(expand("{none} x {none}"), "kept|x");
}

TEST(FieldRules, BlankHeaderValuesAreRefused) {
  EXPECT_EQ(check_header_value(""), "header value must not be blank");
  EXPECT_EQ(check_header_value(" \t "), "header value must not be blank");
  EXPECT_EQ(check_header_value("{{}}"), "");
  EXPECT_NE(check_header_value("{bogus}").find("write {{ and }} for literal braces"),
            std::string::npos);
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
