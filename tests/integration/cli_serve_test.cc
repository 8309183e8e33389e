// `albemu serve` run as a process: ready file, URL-mask routing through the bound listener,
// the admin endpoint, hot reload (file edit, SIGHUP, POST /reload), a broken reload keeping
// the old config, and a clean exit on SIGTERM.

#include "tests/integration/support/cli_serve.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "tests/integration/support/raw_client.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::cli_testing {
namespace {

std::string service_of(const HttpResult& result) {
  return std::string(boost::json::parse(result.body).at("service").as_string());
}

TEST(CliServe, EmbeddedDemoRoutesByUrlMaskAndAnswersAdminEndpoints) {
  ServeProcess serve({});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string address = serve.listener("demo-http");

  // The three requests the startup banner suggests.
  const auto login = http_request(address, "GET", "/login/web");
  ASSERT_EQ(login.status, 200) << login.error << login.body;
  EXPECT_EQ(service_of(login), "login");
  const auto cart = http_request(address, "GET", "/cart/items?id=7");
  EXPECT_EQ(service_of(cart), "cart");
  const auto catalog = http_request(address, "GET", "/anything", {{"Host", "catalog.example.com"}});
  EXPECT_EQ(service_of(catalog), "catalog");
  const auto missing = http_request(address, "GET", "/nosuch/web");
  EXPECT_EQ(missing.status, 503);
  EXPECT_EQ(missing.body, "no healthy upstream");
  EXPECT_NE(serve.process().out().find("curl http://" + address + "/login/web"), std::string::npos)
      << serve.process().out();

  const std::string admin = serve.admin();
  const auto healthz = http_request(admin, "GET", "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body, "ok\n");
  EXPECT_EQ(http_request(admin, "GET", "/ready").status, 200);
  const auto metrics = http_request(admin, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("albemu_requests_total"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("albemu_config_generation 1"), std::string::npos) << metrics.body;
  const auto config = serve.config();
  EXPECT_EQ(config.at("generation").to_number<int>(), 1);
  EXPECT_TRUE(config.at("lastReloadError").is_null());
  EXPECT_EQ(config.at("urlMaps").at(0).at("name"), "demo-map");
  EXPECT_EQ(config.at("forwardingRules").at(0).at("portRange"), "8080");

  const auto route =
      http_request(admin, "GET", "/route?url=http%3A%2F%2F127.0.0.1%3A8080%2Fcart%2Fx&method=GET");
  ASSERT_EQ(route.status, 200) << route.body;
  const auto explanation = boost::json::parse(route.body);
  EXPECT_EQ(explanation.at("forwardingRule"), "demo-http");
  EXPECT_EQ(explanation.at("cloudRunService"), "cart");
  const auto by_host =
      http_request(admin, "GET", "/route?url=http://x/y&header=Host:%20catalog.example.com");
  EXPECT_EQ(boost::json::parse(by_host.body).at("cloudRunService"), "catalog");
  EXPECT_EQ(http_request(admin, "GET", "/nothing").status, 404);

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0) << serve.process().err();
}

TEST(CliServe, CurlReachesTheDemoAndTheAccessLogRecordsIt) {
  TempDir dir;
  const std::string log_file = dir.file("access.log");
  ServeProcess serve({"--access-log", log_file});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const auto result = run({"/usr/bin/curl", "-s", "-H", "Host: login.example.com",
                           "http://" + serve.listener("demo-http") + "/web"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(boost::json::parse(result.out).at("service"), "login");
  ASSERT_TRUE(poll_until([&] { return read_file(log_file).find("\n") != std::string::npos; }));
  const auto entry =
      boost::json::parse(read_file(log_file).substr(0, read_file(log_file).find('\n')));
  EXPECT_EQ(entry.at("httpRequest").at("status").to_number<int>(), 200);
}

TEST(CliServe, BusyListenerPortNamesTheRuleAndAddress) {
  // Hold a port, then ask serve (without --ephemeral-ports) to bind a rule to it.
  boost::asio::io_context io_context;
  boost::asio::ip::tcp::acceptor holder(io_context,
                                        {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string port = std::to_string(holder.local_endpoint().port());
  TempDir dir;
  std::string config = reload_config({"login"});
  config.replace(config.find("\"8080\""), 6, "\"" + port + "\"");
  write_file(dir.file("lb.yaml"), config);
  BackgroundProcess serve({albemu_binary(), "serve", "-c", dir.file("lb.yaml"), "--admin",
                           "127.0.0.1:0", "--ready-file", dir.file("ready.json")});
  const auto code = serve.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(serve.err().find("rule"), std::string::npos) << serve.err();
  EXPECT_NE(serve.err().find("127.0.0.1:" + port), std::string::npos) << serve.err();
  EXPECT_FALSE(std::filesystem::exists(dir.file("ready.json")));
}

TEST(CliServe, HotReloadOnFileEditAndBrokenReloadKeepsTheOldConfig) {
  TempDir dir;
  const std::string config_file = dir.file("lb.yaml");
  write_file(config_file, reload_config({"login"}));
  ServeProcess serve({"-c", config_file});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string address = serve.listener("rule");
  EXPECT_EQ(http_request(address, "GET", "/orders/1").status, 503);

  // An edit in place is picked up.
  write_file(config_file, reload_config({"login", "orders"}));
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 2; })) << serve.process().err();
  const auto orders = http_request(address, "GET", "/orders/1");
  ASSERT_EQ(orders.status, 200) << orders.body;
  EXPECT_EQ(service_of(orders), "orders");

  // A save by rename (as editors do) is picked up too.
  write_file(dir.file("lb.yaml.new"), reload_config({"login", "orders", "cart"}));
  std::filesystem::rename(dir.file("lb.yaml.new"), config_file);
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 3; })) << serve.process().err();
  EXPECT_EQ(service_of(http_request(address, "GET", "/cart/1")), "cart");

  // A broken edit: the old config keeps serving, /ready and /config report the error.
  write_file(config_file, reload_config({"login"}) + "urlMaps2: []\n");
  ASSERT_TRUE(poll_until([&] {
    return http_request(serve.admin(), "GET", "/ready").status == 503;
  })) << serve.process().err();
  const auto config = serve.config();
  EXPECT_EQ(config.at("generation").to_number<int>(), 3);
  ASSERT_TRUE(config.at("lastReloadError").is_string());
  EXPECT_NE(config.at("lastReloadError").as_string().find("urlMaps2"), boost::json::string::npos);
  EXPECT_NE(http_request(serve.admin(), "GET", "/ready").body.find("urlMaps2"), std::string::npos);
  EXPECT_EQ(service_of(http_request(address, "GET", "/cart/1")), "cart");

  // Fixing the file makes it ready again.
  write_file(config_file, reload_config({"login"}));
  ASSERT_TRUE(
      poll_until([&] { return http_request(serve.admin(), "GET", "/ready").status == 200; }));
  EXPECT_EQ(serve.generation(), 4);
  EXPECT_EQ(http_request(address, "GET", "/cart/1").status, 503);

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliServe, WatchesADirectoryForNewFiles) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("conf"));
  write_file(dir.file("conf/lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("conf")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  EXPECT_EQ(http_request(serve.listener("rule"), "GET", "/orders/1").status, 503);

  write_file(dir.file("conf/orders.yaml"),
             "project: p\nregion: us-central1\ncloudRunServices:\n  - name: orders\n");
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 2; })) << serve.process().err();
  EXPECT_EQ(service_of(http_request(serve.listener("rule"), "GET", "/orders/1")), "orders");

  // Removing the file takes the service away again.
  std::filesystem::remove(dir.file("conf/orders.yaml"));
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 3; })) << serve.process().err();
  EXPECT_EQ(http_request(serve.listener("rule"), "GET", "/orders/1").status, 503);
}

/// Polls the config generation for `window`; returns the first one that differs from
/// `expected`, or `expected` if it held for the whole window. A bounded negative check.
int64_t generation_during(const ServeProcess& serve, int64_t expected,
                          std::chrono::milliseconds window) {
  const auto until = std::chrono::steady_clock::now() + window;
  int64_t generation = expected;
  poll_until([&] {
    generation = serve.generation();
    return generation != expected || std::chrono::steady_clock::now() >= until;
  });
  return generation;
}

TEST(CliServe, ReadyFileAndOtherFilesInTheWatchedDirectoryDoNotTriggerReloads) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("conf"));
  write_file(dir.file("conf/lb.yaml"), reload_config({"login"}));
  // serve rewrites the ready file after every reload; inside the watched directory that
  // must not start a reload loop (the debounce is 200 ms, so a loop shows within 1 s).
  ServeProcess serve({"-c", dir.file("conf")}, dir.file("conf/ready.json"));
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  write_file(dir.file("conf/notes.txt"), "not config\n");
  write_file(dir.file("conf/.lb.yaml.swp"), "editor swap file\n");
  EXPECT_EQ(generation_during(serve, 1, std::chrono::seconds(1)), 1) << serve.process().err();

  // A YAML edit still reloads, once.
  write_file(dir.file("conf/orders.yaml"),
             "project: p\nregion: us-central1\ncloudRunServices:\n  - name: orders\n");
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 2; })) << serve.process().err();
  EXPECT_EQ(service_of(http_request(serve.listener("rule"), "GET", "/orders/1")), "orders");
  EXPECT_EQ(generation_during(serve, 2, std::chrono::seconds(1)), 2) << serve.process().err();

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliServe, SighupAndPostReloadLoadANewGeneration) {
  TempDir dir;
  write_file(dir.file("lb.yaml"), reload_config({"login"}));
  ServeProcess serve({"-c", dir.file("lb.yaml")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  serve.process().signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] { return serve.generation() == 2; }));
  const auto reload = http_request(serve.admin(), "POST", "/reload");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(boost::json::parse(reload.body).at("generation").to_number<int>(), 3);
  EXPECT_EQ(http_request(serve.admin(), "GET", "/reload").status, 405);
  serve.process().signal(SIGINT);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

/// The albemu_config_generations_retained gauge, or -1.
int retained_generations(const ServeProcess& serve) {
  const std::string body = http_request(serve.admin(), "GET", "/metrics").body;
  const std::string name = "\nalbemu_config_generations_retained ";
  const auto at = body.find(name);
  return at == std::string::npos ? -1 : std::stoi(body.substr(at + name.size()));
}

/// The retainedGenerations of a POST /reload's answer, or -1.
int reload_retaining(const ServeProcess& serve) {
  const HttpResult answer = http_request(serve.admin(), "POST", "/reload");
  if (answer.status != 200) return -1;
  const auto json = boost::json::parse(answer.body).as_object();
  const auto* retained = json.if_contains("retainedGenerations");
  return retained ? retained->to_number<int>() : -1;
}

// A reload frees the old generation soon after, unless a request in flight still holds it:
// then it stays until that request ended. An idle keep-alive connection does not keep it.
TEST(CliServe, AnOldGenerationStaysWhileARequestHoldsItAndGoesAfter) {
  albemu::testing::TestBackend backend;
  TempDir dir;
  std::string config = reload_config({"login"});
  const std::string entry = "  - name: login\n";
  config.replace(config.find(entry), entry.size(), entry + "    url: " + backend.url() + "\n");
  write_file(dir.file("lb.yaml"), config);
  ServeProcess serve({"-c", dir.file("lb.yaml")});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  EXPECT_EQ(retained_generations(serve), 0);

  // A keep-alive connection served by generation 1, idle from then on.
  albemu::testing::RawClient idle(static_cast<uint16_t>(std::stoi(serve.port("rule"))));
  ASSERT_TRUE(idle.send("GET /login/first HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(idle.read_until_text("GET /login/first", std::chrono::seconds(10)));

  // Generation 1 serves a request that waits at the backend's gate (which opens by itself
  // after 10 s: the polls below give up before that).
  HttpResult held;
  std::thread client([&] { held = http_request(serve.listener("rule"), "GET", "/login/gated"); });
  struct Finish {
    albemu::testing::TestBackend& backend;
    std::thread& client;
    ~Finish() {
      backend.open_gate();
      if (client.joinable()) client.join();
    }
  } finish{backend, client};
  // Counted as its head is read, before the gate (requests_for counts it once answered).
  ASSERT_TRUE(poll_until([&] { return backend.requests() == 2; }, std::chrono::seconds(8)));

  // Each reload answers how many old generations are still in memory.
  EXPECT_EQ(reload_retaining(serve), 1);
  EXPECT_EQ(reload_retaining(serve), 2);
  // Nothing holds generation 2, so it goes; 1 stays for the request.
  EXPECT_TRUE(poll_until([&] { return retained_generations(serve) == 1; }, std::chrono::seconds(8)))
      << retained_generations(serve);

  backend.open_gate();
  client.join();
  EXPECT_EQ(held.status, 200) << held.error;
  // Once the request ended, generation 1 goes too, though the idle connection is still open.
  EXPECT_TRUE(poll_until([&] { return retained_generations(serve) == 0; }))
      << retained_generations(serve);
  ASSERT_TRUE(idle.send("GET /login/second HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(idle.read_until_text("GET /login/second", std::chrono::seconds(10)));
  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliServe, BrokenConfigExitsBeforeBinding) {
  TempDir dir;
  write_file(
      dir.file("lb.yaml"),
      reload_config({"login"}) + "  - name: rule2\n    portRange: \"8080\"\n    target: nope\n");
  BackgroundProcess serve({albemu_binary(), "serve", "-c", dir.file("lb.yaml"), "--ephemeral-ports",
                           "--admin", "127.0.0.1:0", "--ready-file", dir.file("ready.json")});
  const auto code = serve.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(serve.err().find("forwardingRules[rule2]"), std::string::npos) << serve.err();
  EXPECT_FALSE(std::filesystem::exists(dir.file("ready.json")));
}

TEST(CliServe, ABarePathIsAConfigAsWithValidate) {
  // `albemu serve lb.yaml` once served the embedded demo and dropped the path without a word.
  TempDir dir;
  write_file(
      dir.file("lb.yaml"),
      reload_config({"login"}) + "  - name: rule2\n    portRange: \"8080\"\n    target: nope\n");
  BackgroundProcess serve({albemu_binary(), "serve", dir.file("lb.yaml"), "--ephemeral-ports",
                           "--admin", "127.0.0.1:0", "--api", "off"});
  const auto code = serve.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(serve.err().find("forwardingRules[rule2]"), std::string::npos) << serve.err();
}

TEST(CliServe, BusyAdminPortFailsToStart) {
  ServeProcess first({});
  ASSERT_TRUE(first.wait_ready());
  TempDir dir;
  BackgroundProcess second({albemu_binary(), "serve", "--ephemeral-ports", "--admin", first.admin(),
                            "--ready-file", dir.file("ready.json")});
  const auto code = second.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(second.err().find(first.admin()), std::string::npos) << second.err();
}

}  // namespace
}  // namespace albemu::cli_testing
