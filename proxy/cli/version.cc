// `albemu --version`: the release and what the binary was built with.

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <boost/version.hpp>
#include <cstdio>
#include <string>

#include "proxy/cli/commands.h"
#include "proxy/net/socket_io.h"

// Set by CMakeLists.txt for this file alone.
#ifndef ALBEMU_VERSION
#error \
    "ALBEMU_VERSION, ALBEMU_BUILD_TYPE, ALBEMU_TCMALLOC_LINKED and ALBEMU_SANITIZERS are set by the build"
#endif

namespace albemu::cli {

int run_version() {
  const std::string boost = std::to_string(BOOST_VERSION / 100000) + "." +
                            std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                            std::to_string(BOOST_VERSION % 100);
  std::printf("albemu %s\n", ALBEMU_VERSION);
  std::printf("build: %s, drained reads %s, tcmalloc %s, sanitizers %s\n", ALBEMU_BUILD_TYPE,
              net::kDrainedReads ? "on" : "off", ALBEMU_TCMALLOC_LINKED ? "on" : "off",
              ALBEMU_SANITIZERS[0] != '\0' ? ALBEMU_SANITIZERS : "none");
  std::printf("Boost %s, %s (built against %s), compiler %s\n", boost.c_str(),
              OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT, __VERSION__);
  return 0;
}

}  // namespace albemu::cli
