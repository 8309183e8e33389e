#include "proxy/core/url_mask.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace albemu::core {
namespace {

UrlMask parse_ok(std::string_view text) {
  std::string error;
  std::optional<UrlMask> mask = UrlMask::parse(text, error);
  EXPECT_TRUE(mask.has_value()) << text << ": " << error;
  return mask.value_or(*UrlMask::parse("/<service>", error));
}

std::string parse_error(std::string_view text) {
  std::string error;
  std::optional<UrlMask> mask = UrlMask::parse(text, error);
  EXPECT_FALSE(mask.has_value()) << text << " parsed but should not";
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

// Splits a request URL as the proxy sees it (scheme dropped) into Host and path.
std::optional<UrlMask::Match> match_url(const UrlMask& mask, std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  size_t slash = url.find('/');
  std::string_view host = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : url.substr(slash);
  return mask.match(host, path);
}

void expect_match(std::string_view mask_text, std::string_view url, std::string_view service,
                  std::string_view tag) {
  UrlMask mask = parse_ok(mask_text);
  std::optional<UrlMask::Match> match = match_url(mask, url);
  ASSERT_TRUE(match.has_value()) << mask_text << " should match " << url;
  EXPECT_EQ(match->service, service) << mask_text << " on " << url;
  EXPECT_EQ(match->tag, tag) << mask_text << " on " << url;
}

void expect_no_match(std::string_view mask_text, std::string_view url) {
  UrlMask mask = parse_ok(mask_text);
  std::optional<UrlMask::Match> match = match_url(mask, url);
  EXPECT_FALSE(match.has_value()) << mask_text << " should not match " << url
                                  << " (got service=" << (match ? match->service : "") << ")";
}

// ------------------------------------------------------------------ the API and doc examples

TEST(UrlMaskTest, ApiExampleTagFromHostServiceFromPath) {
  expect_match("<tag>.domain.com/<service>", "foo1.domain.com/bar1", "bar1", "foo1");
  expect_match("<tag>.domain.com/<service>", "foo1.domain.com/bar2", "bar2", "foo1");
}

TEST(UrlMaskTest, DocServiceBeforeLiteralInHostLabel) {
  expect_match("<service>-home.example.com", "https://login-home.example.com/web", "login", "");
}

TEST(UrlMaskTest, DocServiceFromPathWithHost) {
  expect_match("example.com/<service>", "https://example.com/login/web", "login", "");
}

TEST(UrlMaskTest, DocServiceFromPathWithoutHost) {
  expect_match("/<service>", "https://example.com/login/web", "login", "");
}

TEST(UrlMaskTest, DocTagAndServiceFromHost) {
  expect_match("<tag>.<service>.example.com", "https://test.login.example.com/web", "login",
               "test");
}

TEST(UrlMaskTest, DocTagAndServiceFromPathWithHost) {
  expect_match("example.com/home/<service>/<tag>", "https://example.com/home/login/test", "login",
               "test");
}

TEST(UrlMaskTest, DocTagAndServiceFromPathWithoutHost) {
  expect_match("/home/<service>/<tag>", "https://example.com/home/login/test", "login", "test");
}

TEST(UrlMaskTest, DocTagFromHostServiceFromPath) {
  expect_match("<tag>.example.com/home/<service>", "https://test.example.com/home/login/web",
               "login", "test");
}

// ------------------------------------------------------------------ host rules

TEST(UrlMaskTest, HostIsCaseInsensitiveAndCapturesAreLowerCased) {
  expect_match("<service>-HOME.Example.com", "https://LOGIN-Home.EXAMPLE.com/web", "login", "");
}

TEST(UrlMaskTest, HostPortAndTrailingDotAreIgnored) {
  expect_match("<service>-home.example.com", "login-home.example.com:8443/web", "login", "");
  expect_match("<service>-home.example.com", "login-home.example.com./", "login", "");
  expect_match("example.com/<service>", "example.com:80/login", "login", "");
}

TEST(UrlMaskTest, LabelsBeforeTheFirstPlaceholderMayBeOmitted) {
  expect_match("<service>.example.com", "login.example.com/", "login", "");
  expect_match("<service>.example.com", "test.login.example.com/", "login", "");
  expect_match("<service>.example.com", "a.b.login.example.com/", "login", "");
}

TEST(UrlMaskTest, OmissionIsByWholeLabels) {
  expect_match("api-<service>.example.com", "api-login.example.com", "login", "");
  expect_no_match("api-<service>.example.com", "xapi-login.example.com");
  expect_no_match("api-<service>.example.com", "login.example.com");
}

TEST(UrlMaskTest, LiteralHostMustMatchExactly) {
  expect_no_match("example.com/<service>", "api.example.com/login");
  expect_no_match("example.com/<service>", "example.org/login");
  expect_match("/<service>", "anything.example.org/login", "login", "");
}

TEST(UrlMaskTest, HostPlaceholderStopsAtNextLiteral) {
  expect_match("<tag>---<service>.example.com", "beta---login.example.com", "login", "beta");
  // The capture is as short as the rest of the mask allows.
  expect_match("<service>-home.example.com", "my-login-home.example.com", "my-login", "");
}

TEST(UrlMaskTest, PlaceholderBacktracksWhenTheFirstLiteralOccurrenceFails) {
  // The first '-' after "x" does not lead to "-a.example.com"; the capture grows past it.
  expect_match("<service>-a.example.com", "x-b-a.example.com", "x-b", "");
  expect_match("/<service>-v/x", "h/a-b-v/x", "a-b", "");
  expect_match("<tag>-<service>.example.com", "beta-log-in.example.com", "log-in", "beta");
  expect_no_match("/<service>-v/x", "h/a-b-v/y");
}

TEST(UrlMaskTest, HostNonMatches) {
  expect_no_match("<service>-home.example.com", "login-home.example.org/web");  // wrong domain
  expect_no_match("<service>-home.example.com", "login.example.com/web");       // literal missing
  expect_no_match("<service>-home.example.com", "-home.example.com/web");       // empty capture
  expect_no_match("<service>-home.example.com", "login-home.example.com.evil.test/");
  expect_no_match("<tag>.<service>.example.com", "login.example.com/web");  // label missing
  expect_no_match("<service>.example.com", "example.com/");
  expect_no_match("<service>.example.com", "");
}

// ------------------------------------------------------------------ path rules

TEST(UrlMaskTest, PathSegmentsAfterTheLastPlaceholderAreIgnored) {
  expect_match("/<service>", "example.com/login/web/x", "login", "");
  expect_match("/<service>", "example.com/login", "login", "");
  expect_match("/<service>", "example.com/login/", "login", "");
}

TEST(UrlMaskTest, PathIgnoresQueryAndFragment) {
  expect_match("/<service>", "example.com/login?next=/home", "login", "");
  expect_match("/<service>/<tag>", "example.com/login/beta?x=1", "login", "beta");
  expect_match("/<service>", "example.com/login#top", "login", "");
}

TEST(UrlMaskTest, PathIsCaseSensitive) {
  expect_match("/home/<service>", "example.com/home/Login", "Login", "");
  expect_no_match("/home/<service>", "example.com/HOME/login");
}

TEST(UrlMaskTest, LiteralPathSegmentsMustMatchWholeSegments) {
  expect_match("/<service>/web", "example.com/login/web", "login", "");
  expect_match("/<service>/web", "example.com/login/web/more", "login", "");
  expect_no_match("/<service>/web", "example.com/login/webx");
  expect_no_match("/<service>/web", "example.com/login");
  expect_no_match("/home/<service>", "example.com/homes/login");
}

TEST(UrlMaskTest, PlaceholderInsideAPathSegment) {
  expect_match("/svc-<service>/x", "h/svc-login/x", "login", "");
  expect_no_match("/svc-<service>/x", "h/svc-/x");
}

TEST(UrlMaskTest, PathNonMatches) {
  expect_no_match("/home/<service>/<tag>", "example.com/home/login");   // missing segment
  expect_no_match("/home/<service>/<tag>", "example.com/home/login/");  // empty tag
  expect_no_match("/<service>", "example.com/");                        // empty capture
  expect_no_match("/<service>", "example.com//login");
  expect_no_match("/home/<service>", "example.com/other/login");
  expect_no_match("example.com/<service>", "example.com");
}

TEST(UrlMaskTest, HostAndPathMustBothMatch) {
  expect_no_match("<tag>.example.com/home/<service>", "test.example.com/other/login");
  expect_no_match("<tag>.example.com/home/<service>", "test.example.org/home/login");
}

TEST(UrlMaskTest, TrailingSlashInMaskIsDropped) {
  expect_match("/home/<service>/", "h/home/login", "login", "");
  expect_match("<service>.example.com/", "login.example.com/anything", "login", "");
}

TEST(UrlMaskTest, MatchViewsReportWhereCapturesCameFrom) {
  UrlMask mask = parse_ok("<tag>.example.com/<service>");
  UrlMask::Captures captures;
  ASSERT_TRUE(mask.match_views("BETA.example.com", "/login/x", captures));
  EXPECT_EQ(captures.tag, "BETA");
  EXPECT_TRUE(captures.tag_from_host);
  EXPECT_EQ(captures.service, "login");
  EXPECT_FALSE(captures.service_from_host);
}

// ------------------------------------------------------------------ parse errors

TEST(UrlMaskTest, ParseRecordsWhatTheMaskHolds) {
  UrlMask both = parse_ok("<tag>.example.com/<service>");
  EXPECT_TRUE(both.has_service());
  EXPECT_TRUE(both.has_tag());
  EXPECT_EQ(both.text(), "<tag>.example.com/<service>");
  UrlMask tag_only = parse_ok("<tag>.example.com");
  EXPECT_FALSE(tag_only.has_service());
  EXPECT_TRUE(tag_only.has_tag());
}

TEST(UrlMaskTest, RejectsEmptyMask) { EXPECT_NE(parse_error("").find("empty"), std::string::npos); }

TEST(UrlMaskTest, RejectsMaskWithoutPlaceholder) {
  EXPECT_NE(parse_error("example.com/login").find("no <service> or <tag>"), std::string::npos);
  parse_error("/");
  parse_error("example.com");
}

TEST(UrlMaskTest, RejectsRepeatedPlaceholder) {
  EXPECT_NE(parse_error("<service>.example.com/<service>").find("<service> appears more than once"),
            std::string::npos);
  EXPECT_NE(parse_error("/<tag>/<tag>/<service>").find("<tag> appears more than once"),
            std::string::npos);
}

TEST(UrlMaskTest, RejectsUnknownOrUnclosedPlaceholder) {
  EXPECT_NE(parse_error("/<function>").find("unknown placeholder <function>"), std::string::npos);
  EXPECT_NE(parse_error("/<Service>").find("unknown placeholder"), std::string::npos);
  EXPECT_NE(parse_error("/<service").find("closing"), std::string::npos);
}

TEST(UrlMaskTest, RejectsAdjacentPlaceholders) {
  EXPECT_NE(parse_error("<tag><service>.example.com").find("separated"), std::string::npos);
  parse_error("/<service><tag>");
}

TEST(UrlMaskTest, RejectsBadCharacters) {
  EXPECT_NE(parse_error("https://example.com/<service>").find("scheme"), std::string::npos);
  EXPECT_NE(parse_error("example.com:8080/<service>").find("':' is not allowed in the host"),
            std::string::npos);
  EXPECT_NE(parse_error("exa_mple.com/<service>").find("'_'"), std::string::npos);
  EXPECT_NE(parse_error("*.example.com/<service>").find("'*'"), std::string::npos);
  EXPECT_NE(parse_error("/<service>?x=1").find("'?'"), std::string::npos);
  EXPECT_NE(parse_error("/<service>#top").find("'#'"), std::string::npos);
  EXPECT_NE(parse_error("/a b/<service>").find("a space"), std::string::npos);
  parse_error("/<service>>");
  parse_error("/a\\b/<service>");
}

TEST(UrlMaskTest, RejectsEmptyHostLabelOrPathSegment) {
  EXPECT_NE(parse_error("<service>..example.com").find("empty label"), std::string::npos);
  parse_error(".<service>.example.com");
  EXPECT_NE(parse_error("/home//<service>").find("empty segment"), std::string::npos);
}

}  // namespace
}  // namespace albemu::core
