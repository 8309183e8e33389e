#include "proxy/admin/stats_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace albemu::admin {
namespace {

uint64_t number(const boost::json::value& value) { return value.to_number<uint64_t>(); }

TEST(StatsJson, GroupsSeriesByRouteAndBackendAndCountsFiveHundredsAsErrors) {
  log::MetricsTotals totals;
  totals.requests = {
      {"rule-a", "map", "bs-1", "2xx", "HTTP/2.0", 4},
      {"rule-a", "map", "bs-1", "2xx", "HTTP/1.1", 3},  // series of both protocols add up
      {"rule-a", "map", "bs-1", "5xx", "HTTP/1.1", 3},
      {"rule-a", "map", "bs-2", "4xx", "HTTP/1.1", 2},
      {"rule-b", "map", "", "3xx", "HTTP/1.1", 5},  // a redirect: no backend
      {"rule-b", "", "", "none", "HTTP/1.1", 1},    // closed before any status
  };
  totals.latencies = {{"rule-a", 12, 24'000}, {"rule-b", 0, 0}};
  totals.active_connections = 2;
  totals.config_generation = 9;
  totals.retained_generations = 1;
  totals.reloads_failed = 1;
  const boost::json::object json = stats_to_json(totals);

  EXPECT_EQ(number(json.at("generation")), 9u);
  EXPECT_EQ(number(json.at("retainedGenerations")), 1u);
  EXPECT_EQ(number(json.at("activeConnections")), 2u);
  EXPECT_EQ(number(json.at("reloads").at("failed")), 1u);
  EXPECT_EQ(number(json.at("total").at("requests")), 18u);
  EXPECT_EQ(number(json.at("total").at("errors")), 3u);
  EXPECT_EQ(number(json.at("total").at("codes").at("none")), 1u);

  const auto& rule_a = json.at("forwardingRules").at("rule-a");
  EXPECT_EQ(number(rule_a.at("requests")), 12u);
  EXPECT_EQ(number(rule_a.at("errors")), 3u);
  EXPECT_EQ(number(rule_a.at("codes").at("4xx")), 2u);
  EXPECT_DOUBLE_EQ(rule_a.at("averageLatencyMs").as_double(), 2.0);
  EXPECT_EQ(json.at("forwardingRules").at("rule-b").as_object().count("averageLatencyMs"), 0u);

  EXPECT_EQ(number(json.at("urlMaps").at("map").at("requests")), 17u);
  EXPECT_EQ(json.at("urlMaps").as_object().count(""), 0u) << "no URL map is not a URL map";
  EXPECT_EQ(number(json.at("backendServices").at("bs-1").at("requests")), 10u);
  EXPECT_EQ(number(json.at("backendServices").at("bs-1").at("errors")), 3u);
  EXPECT_EQ(number(json.at("backendServices").at("bs-2").at("errors")), 0u);
  EXPECT_EQ(number(json.at("backendServices").at("").at("requests")), 6u);
  ASSERT_EQ(json.at("series").as_array().size(), 6u);
  EXPECT_EQ(json.at("series").as_array()[0].at("protocol").as_string(), "HTTP/2.0");
  EXPECT_EQ(json.at("series").as_array()[2].at("codeClass").as_string(), "5xx");
}

TEST(StatsJson, NoTrafficYet) {
  const boost::json::object json = stats_to_json({});
  EXPECT_EQ(number(json.at("total").at("requests")), 0u);
  EXPECT_TRUE(json.at("total").at("codes").as_object().empty());
  EXPECT_TRUE(json.at("forwardingRules").as_object().empty());
  EXPECT_TRUE(json.at("series").as_array().empty());
}

}  // namespace
}  // namespace albemu::admin
