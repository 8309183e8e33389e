// Applying snapshots to a running data plane: listeners follow the forwarding rules, a bind
// failure names the rule and changes nothing, and draining lets in-flight requests finish.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>

#include "config/load/loader.h"
#include "proxy/core/snapshot.h"
#include "tests/integration/support/proxy_harness.h"
#include "tests/integration/support/test_backend.h"

namespace albemu::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string app_config_for_url(const std::string& url, const std::string& rules) {
  return "project: it-project\nregion: us-central1\n" + single_service_yaml(url) + R"(
targetHttpProxies:
  - name: http-proxy
    urlMap: test-map
forwardingRules:
)" + rules;
}

std::string app_config(const TestBackend& backend, const std::string& rules) {
  return app_config_for_url(backend.url(), rules);
}

std::string rule(const std::string& name, const std::string& ip, int port) {
  return "  - name: " + name + R"(
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: )" +
         ip + R"(
    IPProtocol: TCP
    portRange: ")" +
         std::to_string(port) + R"("
    target: regions/us-central1/targetHttpProxies/http-proxy
)";
}

TEST(ProxyReloadTest, ListenersFollowTheForwardingRules) {
  TestBackend backend;
  ProxyHarness proxy;
  ASSERT_EQ(proxy.apply_yaml(app_config(backend, rule("first", "127.0.0.1", 80))), "");
  const uint16_t first = proxy.port("first");
  EXPECT_EQ(run_curl({"http://127.0.0.1:" + std::to_string(first) + "/a"}).status, 200);

  // Add a rule, keep the first one (same address: not rebound).
  ASSERT_EQ(proxy.apply_yaml(app_config(
                backend, rule("first", "127.0.0.1", 80) + rule("second", "127.0.0.1", 81))),
            "");
  EXPECT_EQ(proxy.port("first"), first);
  const uint16_t second = proxy.port("second");
  ASSERT_NE(second, 0);
  EXPECT_EQ(run_curl({"http://127.0.0.1:" + std::to_string(second) + "/b"}).status, 200);

  // Remove the first rule: its port stops accepting.
  ASSERT_EQ(proxy.apply_yaml(app_config(backend, rule("second", "127.0.0.1", 81))), "");
  EXPECT_EQ(proxy.port("first"), 0);
  EXPECT_NE(run_curl({"http://127.0.0.1:" + std::to_string(first) + "/a"}).exit_code, 0);
  EXPECT_EQ(run_curl({"http://127.0.0.1:" + std::to_string(second) + "/b"}).status, 200);
}

TEST(ProxyReloadTest, BindFailureNamesTheRuleAndChangesNothing) {
  TestBackend backend;
  log::Metrics metrics(1);
  net::DataPlaneOptions options;
  options.metrics = &metrics;
  net::DataPlane data_plane(options);
  data_plane.start();
  // The backend's own port is taken: binding it must fail.
  auto loaded = config::load_config_text(
      app_config(backend, rule("busy", "127.0.0.1", backend.port())), "test.yaml");
  ASSERT_TRUE(loaded.ok()) << config::format_errors(loaded.errors);
  auto built = core::build_snapshot(loaded, 1);
  ASSERT_TRUE(built.snapshot) << config::format_errors(built.errors);
  auto errors = data_plane.apply(built.snapshot);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].field_path.find("busy"), std::string::npos) << errors[0].to_string();
  EXPECT_NE(errors[0].message.find("127.0.0.1:" + std::to_string(backend.port())),
            std::string::npos)
      << errors[0].to_string();
  EXPECT_TRUE(data_plane.bound_addresses().empty());
  data_plane.drain_and_stop(0ms);
}

TEST(ProxyReloadTest, DrainLetsInFlightRequestsFinish) {
  TestBackend backend;
  ProxyHarness proxy;
  ASSERT_EQ(proxy.apply_yaml(app_config(backend, rule("first", "127.0.0.1", 80))), "");
  const std::string url = "http://127.0.0.1:" + std::to_string(proxy.port("first"));
  auto slow = std::async(std::launch::async, [&] { return run_curl({url + "/slow/800"}); });
  ASSERT_TRUE(poll_until([&] { return backend.requests() == 1; }, 5s));
  proxy.data_plane().drain_and_stop(5s);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(proxy.data_plane().active_connections(), 0u);
}

TEST(ProxyReloadTest, OpenKeepAliveConnectionSeesTheNewRouting) {
  TestBackend first{"first"};
  TestBackend second{"second"};
  ProxyHarness proxy;
  ASSERT_EQ(proxy.apply_yaml(app_config(first, rule("rule", "127.0.0.1", 80))), "");

  asio::io_context io_context;
  asio::ip::tcp::socket socket(io_context);
  socket.connect({asio::ip::make_address("127.0.0.1"), proxy.port("rule")});
  beast::flat_buffer buffer;
  // One request on the open connection; returns the backend that answered ("" on error).
  auto ask = [&]() -> std::string {
    http::request<http::empty_body> request(http::verb::get, "/x", 11);
    request.set(http::field::host, "app");
    request.keep_alive(true);
    beast::error_code ec;
    http::write(socket, request, ec);
    if (ec) return "";
    http::response<http::string_body> response;
    http::read(socket, buffer, response, ec);
    if (ec || !response.keep_alive()) return "";
    return std::string(response["x-backend-name"]);
  };
  ASSERT_EQ(ask(), "first");

  ASSERT_EQ(proxy.apply_yaml(app_config(second, rule("rule", "127.0.0.1", 80))), "");
  std::string answered;
  EXPECT_TRUE(poll_until(
      [&] {
        answered = ask();
        return answered != "first";
      },
      5s));
  // The same client socket: ask() fails on a closed or non-keep-alive connection.
  EXPECT_EQ(answered, "second");
  EXPECT_EQ(second.requests_for("/x"), 1);
}

TEST(ProxyReloadTest, NamedBackendsAreResolved) {
  // A name goes through the resolver (and its cache); a numeric address skips it.
  TestBackend backend;
  ProxyHarness proxy;
  ASSERT_EQ(
      proxy.apply_yaml(app_config_for_url("http://localhost:" + std::to_string(backend.port()),
                                          rule("rule", "127.0.0.1", 80))),
      "");
  const std::string url = "http://127.0.0.1:" + std::to_string(proxy.port("rule"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run_curl({"-H", "Connection: close", url + "/named"}).status, 200) << i;
  }
  EXPECT_EQ(backend.requests_for("/named"), 3);
}

}  // namespace
}  // namespace albemu::testing
