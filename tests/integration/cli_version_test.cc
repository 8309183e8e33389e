// `albemu --version` and `-V`: the release and what the binary was built with.

#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/support/cli_process.h"

namespace albemu::cli_testing {
namespace {

TEST(CliVersion, PrintsTheReleaseAndTheBuildOptions) {
  for (const char* flag : {"--version", "-V"}) {
    SCOPED_TRACE(flag);
    const auto result = run({albemu_binary(), flag});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(^albemu \d+\.\d+\.\d+\n)")))
        << result.out;
    EXPECT_TRUE(std::regex_search(
        result.out, std::regex(R"(drained reads (on|off), tcmalloc (on|off), sanitizers \S+)")))
        << result.out;
    EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(Boost \d+\.\d+\.\d+, OpenSSL \d)")))
        << result.out;
  }
}

}  // namespace
}  // namespace albemu::cli_testing
