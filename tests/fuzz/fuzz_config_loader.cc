// libFuzzer target: YAML text -> the config loader, validator and snapshot compiler
// (config/load/loader.h, proxy/core/snapshot.h), as `albemu validate` runs them.
//
// Every input must end in load errors or a snapshot: never a crash, an abort, an uncaught
// exception or a leak. The file name defaults to "fuzz.yaml"; a first line "#@ NAME" (a YAML
// comment, so seeds stay valid YAML) names it instead, which reaches the single-resource
// files recognised by their folder (`#@ urlMaps/x.yaml`).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/load/loader.h"
#include "proxy/core/snapshot.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Relative certificateFile paths resolve against the working directory: make it an empty
  // one so that inputs cannot read whatever the fuzzer was started next to.
  static char dir[] = "/tmp/albemu-fuzz-config-XXXXXX";
  if (mkdtemp(dir) == nullptr || chdir(dir) != 0) std::abort();
  std::atexit([] { rmdir(dir); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  std::string file_name = "fuzz.yaml";
  if (yaml.starts_with("#@ ")) {
    const std::size_t end = yaml.find('\n');
    const std::string_view name = yaml.substr(3, end == std::string_view::npos ? 0 : end - 3);
    // Only names below the working directory: a fuzzed "/dev/x.yaml" is not a config file.
    if (!name.empty() && name.size() < 64 && !name.starts_with('/') &&
        name.find("..") == std::string_view::npos) {
      file_name = std::string(name);
    }
  }

  const albemu::config::LoadResult loaded = albemu::config::load_config_text(yaml, file_name);
  for (const auto& error : loaded.errors) {
    check(!error.message.empty());
    (void)error.to_string();
  }
  const albemu::core::SnapshotResult result = albemu::core::build_snapshot(loaded, 1);
  // Exactly one of: a snapshot, or the reasons there is none.
  check((result.snapshot != nullptr) == result.errors.empty());
  if (!loaded.ok()) check(result.snapshot == nullptr);
  if (result.snapshot) {
    for (const auto& validation : result.validations) {
      check(validation.load_succeeded && validation.test_passed);
      check(result.snapshot->find_url_map(validation.url_map) != nullptr);
    }
    for (const auto& listener : result.snapshot->listeners) {
      check(result.snapshot->find_url_map(listener.url_map) != nullptr);
    }
  }
  return 0;
}
