// The admin endpoint's safety: the bearer token on state-changing calls, the warning when it is
// reachable beyond loopback without one, and that it never proxies.

#include <gtest/gtest.h>

#include <csignal>

#include "tests/integration/support/cli_process.h"
#include "tests/integration/support/cli_serve.h"

namespace albemu::cli_testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

TEST(CliAdmin, TokenGuardsReloadAndLeavesReadsOpen) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("lb.yaml"), "--admin-token", "s3cret-token"});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();

  const auto missing = http_request(serve.admin(), "POST", "/reload");
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_TRUE(missing.headers.at("date").ends_with(" GMT")) << missing.headers.at("date");
  EXPECT_EQ(missing.headers.at("www-authenticate"), R"(Bearer realm="albemu-admin")");
  const auto wrong =
      http_request(serve.admin(), "POST", "/reload", Headers{{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.at("www-authenticate").find(R"(error="invalid_token")"),
            std::string::npos);
  const auto other_scheme = http_request(serve.admin(), "POST", "/reload",
                                         Headers{{"Authorization", "Basic s3cret-token"}});
  EXPECT_EQ(other_scheme.status, 401);
  EXPECT_EQ(serve.generation(), 1) << "a refused reload must not reload";

  const auto right = http_request(serve.admin(), "POST", "/reload",
                                  Headers{{"Authorization", "Bearer s3cret-token"}});
  EXPECT_EQ(right.status, 200) << right.body;
  // The scheme is case-insensitive (RFC 6750 / RFC 9110 section 11.1).
  const auto lower = http_request(serve.admin(), "POST", "/reload",
                                  Headers{{"Authorization", "bearer s3cret-token"}});
  EXPECT_EQ(lower.status, 200) << lower.body;
  EXPECT_EQ(serve.generation(), 3);

  // A browser's cross-origin POST (a page the user visits) is refused even with the token.
  const auto cross = http_request(
      serve.admin(), "POST", "/reload",
      Headers{{"Authorization", "Bearer s3cret-token"}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_EQ(serve.generation(), 3);
  EXPECT_EQ(http_request(serve.admin(), "GET", "/ready").status, 200);
  EXPECT_EQ(http_request(serve.admin(), "GET", "/metrics").status, 200);
  EXPECT_EQ(http_request(serve.admin(), "GET", "/route?url=http://x/login").status, 200);
  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliAdmin, TokenFromTheEnvironment) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("lb.yaml")}, {}, {{"ALBEMU_ADMIN_TOKEN", "from-env"}});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  EXPECT_EQ(http_request(serve.admin(), "POST", "/reload").status, 401);
  EXPECT_EQ(
      http_request(serve.admin(), "POST", "/reload", Headers{{"Authorization", "Bearer from-env"}})
          .status,
      200);
  EXPECT_EQ(serve.generation(), 2);
}

TEST(CliAdmin, WarnsWhenReachableBeyondLoopbackWithoutAToken) {
  ServeProcess open_admin({"--admin", "0.0.0.0:0"});
  ASSERT_TRUE(open_admin.wait_ready()) << open_admin.process().err();
  EXPECT_NE(open_admin.process().err().find("reachable beyond loopback"), std::string::npos)
      << open_admin.process().err();

  ServeProcess guarded({"--admin", "0.0.0.0:0", "--admin-token", "t"});
  ASSERT_TRUE(guarded.wait_ready()) << guarded.process().err();
  EXPECT_EQ(guarded.process().err().find("reachable beyond loopback"), std::string::npos)
      << guarded.process().err();

  ServeProcess loopback({});  // ServeProcess binds the admin endpoint on 127.0.0.1:0
  ASSERT_TRUE(loopback.wait_ready()) << loopback.process().err();
  EXPECT_EQ(loopback.admin().rfind("127.0.0.1:", 0), 0u) << loopback.admin();
  EXPECT_EQ(loopback.process().err().find("reachable beyond loopback"), std::string::npos);
}

TEST(CliAdmin, AdminPortNeverServesProxiedTraffic) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("lb.yaml")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  // The same request is routed to the stand-in on the forwarding rule...
  const auto proxied = http_request("127.0.0.1:" + serve.port("rule"), "GET", "/login/x");
  ASSERT_EQ(proxied.status, 200) << proxied.body;
  // ...and on the admin port, whatever the Host or form, answers the admin's own 404.
  for (const std::string target : {"/login/x", "http://127.0.0.1:8080/login/x"}) {
    const auto answer =
        http_request(serve.admin(), "GET", target, Headers{{"Host", "127.0.0.1:8080"}});
    EXPECT_EQ(answer.status, 404) << target;
    EXPECT_EQ(answer.headers.at("server"), "albemu-admin") << target;
    EXPECT_EQ(answer.body.find("login"), std::string::npos) << answer.body;
  }
}

}  // namespace
}  // namespace albemu::cli_testing
