// The watcher calls back soon after a writer closes a config file, and waits while another is
// still being written. Events are driven with poll() (what is ready now) and run_one() (wait
// for the next handler); the long delay is an hour, so a callback that arrives at all came
// through the short path.

#include "proxy/cli/config_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace albemu::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ConfigWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "albemu-watch-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    write(dir_ / "a.yaml", "a: 1\n");
    write(dir_ / "b.yaml", "b: 1\n");
    watcher_ =
        std::make_unique<ConfigWatcher>(io_, std::vector<std::string>{dir_.string()},
                                        ConfigWatcher::Delays{1ms, 1h}, [this] { ++changes_; });
    ASSERT_FALSE(watcher_->start());
  }
  void TearDown() override {
    watcher_.reset();
    fs::remove_all(dir_);
  }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  /// Runs handlers until the next callback.
  void wait_for_change() {
    const int before = changes_;
    while (changes_ == before) ASSERT_EQ(io_.run_one(), 1u);
  }

  boost::asio::io_context io_;
  fs::path dir_;
  std::unique_ptr<ConfigWatcher> watcher_;
  int changes_ = 0;
};

TEST_F(ConfigWatcherTest, ClosedWriteCallsBackWithoutTheLongDelay) {
  write(dir_ / "a.yaml", "a: 2\n");
  wait_for_change();
  EXPECT_EQ(changes_, 1);
}

TEST_F(ConfigWatcherTest, RenameOverAFileCallsBack) {
  write(dir_ / "a.yaml.new", "a: 3\n");  // not a config file: no event counts
  fs::rename(dir_ / "a.yaml.new", dir_ / "a.yaml");
  wait_for_change();
  EXPECT_EQ(changes_, 1);
}

TEST_F(ConfigWatcherTest, WaitsWhileAnotherFileIsStillBeingWritten) {
  const int writer = ::open((dir_ / "a.yaml").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, "a: 4\n", 5), 5);
  write(dir_ / "b.yaml", "b: 2\n");  // b is complete, a is not
  io_.poll();                        // the events of both are queued already
  io_.poll();
  EXPECT_TRUE(watcher_->change_pending());
  EXPECT_EQ(watcher_->files_being_written(), 1u);
  EXPECT_EQ(changes_, 0);
  ASSERT_EQ(::close(writer), 0);
  wait_for_change();
  EXPECT_EQ(changes_, 1);
  EXPECT_EQ(watcher_->files_being_written(), 0u);
}

TEST_F(ConfigWatcherTest, OtherFilesInTheDirectoryDoNotCount) {
  write(dir_ / "notes.txt", "x\n");
  write(dir_ / "a.yaml.new", "a: 5\n");
  io_.poll();  // the events are queued already
  io_.poll();
  EXPECT_FALSE(watcher_->change_pending());
  EXPECT_EQ(changes_, 0);
  write(dir_ / "b.yaml", "b: 3\n");
  wait_for_change();
  EXPECT_EQ(changes_, 1);
}

}  // namespace
}  // namespace albemu::cli
