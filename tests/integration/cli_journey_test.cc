// What a user does with `albemu serve` as a process: Google's guide reproduced with curl
// (config/examples/tutorial.yaml, HTTP and HTTPS), and hot reloads under steady traffic
// that must not fail a single request.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "tests/integration/support/cli_serve.h"

namespace albemu::cli_testing {
namespace {

TEST(CliJourney, GooglesGuideWorksWithCurlOverHttpAndHttps) {
  const std::string tutorial = source_path("config/examples/tutorial.yaml");
  ASSERT_TRUE(std::filesystem::exists(source_path("certs/out/server.crt")))
      << "run certs/generate.sh (make test does) before this test";
  ServeProcess serve({"-c", tutorial});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();

  // curl IP_ADDRESS
  const std::string http_port = serve.port("helloworld-http-forwarding-rule");
  const auto http = run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + http_port});
  ASSERT_EQ(http.exit_code, 0) << http.err;
  EXPECT_EQ(service_of(http.out), "helloworld");

  // curl -k -s 'https://TEST_DOMAIN_URL:443' --connect-to TEST_DOMAIN_URL:443:IP_ADDRESS:443
  const std::string https_port = serve.port("helloworld-https-forwarding-rule");
  const std::string authority = "test.example.com:" + https_port;
  const auto https =
      run({"/usr/bin/curl", "-k", "-s", "-w", "\n%{http_code} %{ssl_verify_result}",
           "https://" + authority + "/", "--connect-to", authority + ":127.0.0.1:" + https_port});
  ASSERT_EQ(https.exit_code, 0) << https.err;
  const std::string body = https.out.substr(0, https.out.rfind('\n'));
  EXPECT_EQ(service_of(body), "helloworld");
  EXPECT_EQ(https.out.substr(https.out.rfind('\n') + 1, 3), "200");
  // The stand-in saw the HTTPS client's Host and the proxy's X-Forwarded-Proto.
  const auto headers = boost::json::parse(body).at("headers").as_object();
  EXPECT_EQ(headers.at("x-forwarded-proto").as_array().at(0).as_string(), "https");
  EXPECT_EQ(headers.at("host").as_array().at(0).as_string(), authority);

  // And the certificate served is the dev one that covers test.example.com.
  const auto verified =
      run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
           source_path("certs/out/ca.crt"), "https://" + authority + "/", "--connect-to",
           authority + ":127.0.0.1:" + https_port});
  EXPECT_EQ(verified.out, "200") << verified.err;

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

TEST(CliJourney, HotReloadUnderSteadyTrafficFailsNoRequest) {
  TempDir dir;
  const std::string config_file = dir.file("lb.yaml");
  write_file(config_file, reload_config({"login"}));
  ServeProcess serve({"-c", config_file});
  ASSERT_TRUE(serve.wait_ready()) << serve.process().err();
  const std::string address = serve.listener("rule");

  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        const auto result = http_request(address, "GET", "/login/web");
        if (result.status == 200 && service_of(result.body) == "login") {
          ++succeeded;
        } else if (failed++ == 0) {
          first_failure = std::to_string(result.status) + " " + result.error + " " + result.body;
        }
      }
    });
  }

  // Five reloads while the clients run; each one is awaited by its config generation.
  for (int64_t generation = 2; generation <= 6; ++generation) {
    const int before = succeeded;
    const std::vector<std::string> services = generation % 2 == 1
                                                  ? std::vector<std::string>{"login", "orders"}
                                                  : std::vector<std::string>{"login"};
    write_file(config_file, reload_config(services, "edit " + std::to_string(generation)));
    ASSERT_TRUE(poll_until([&] { return serve.generation() == generation; }))
        << serve.process().err();
    // Traffic flows on the new snapshot before the next edit.
    ASSERT_TRUE(poll_until([&] { return succeeded > before + 20; }));
  }
  // The last snapshot (generation 6, without orders) is the one serving.
  EXPECT_EQ(http_request(address, "GET", "/orders/1").status, 503);
  stop = true;
  for (auto& client : clients) client.join();

  EXPECT_EQ(failed, 0) << first_failure;
  EXPECT_GT(succeeded, 100);
  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace albemu::cli_testing
