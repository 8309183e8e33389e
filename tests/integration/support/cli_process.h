#pragma once
// Runs the real `albemu` binary from integration tests: one-shot commands with their output
// captured, and background processes (serve, standin) that can be signalled and awaited.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace albemu::cli_testing {

/// The binary under test (ALBEMU_BINARY) and the source tree (ALBEMU_SOURCE_DIR).
std::string albemu_binary();
std::string source_path(const std::string& relative);

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

/// Runs `argv` (argv[0] a path) to completion, capturing stdout and stderr; killed after
/// `timeout`.
CommandResult run(const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Runs `albemu ARGS...`.
CommandResult run_albemu(const std::vector<std::string>& args);

/// A process running in the background; stdout and stderr go to files read back on demand.
/// Killed (SIGKILL) on destruction if still running.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal_number) const;
  /// Waits up to `timeout` for the exit; the exit code, or nullopt (still running, or
  /// killed by a signal: then exit_signal() says which).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  int exit_signal() const { return exit_signal_; }
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  int exit_signal_ = 0;
  std::string out_path_;
  std::string err_path_;
};

/// Polls `condition` every few milliseconds until it holds or `deadline` passes.
bool poll_until(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = std::chrono::seconds(20));

/// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
/// Writes `text` to `path` in place (truncate + write), as an editor without rename would.
void write_file(const std::string& path, const std::string& text);

struct HttpResult {
  int status = 0;  // 0: the request failed (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string error;
};

/// One HTTP/1.1 request over a fresh connection to `address` ("ip:port").
HttpResult http_request(const std::string& address, const std::string& method,
                        const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        const std::string& body = {});

}  // namespace albemu::cli_testing
