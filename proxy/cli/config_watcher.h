#pragma once
// Watches config files and directories for changes (inotify) and calls back once the changes
// settle: soon after a writer closes its file, later while one is still writing. Inside watched
// directories only *.yaml / *.yml files (what the loader reads) and directories count, so other
// files written there (a ready file, editor temp files) do not cause reloads. Watches the parent
// directory of each file, so editors that save by renaming a new file over the old one, and files
// replaced inside a bind-mounted directory, are seen. Runs on the caller's io_context; the callback
// runs on its thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace albemu::cli {

class ConfigWatcher {
 public:
  /// How long the watcher waits before calling back.
  struct Delays {
    /// After a write has ended (a file closed after writing, renamed in or out, deleted,
    /// touched) and no other file is being written: short, so that the files of one copy
    /// or checkout load together.
    std::chrono::milliseconds settle{15};
    /// While a file has been written to but not closed (a writer still at work, or one that
    /// never closes): the fallback.
    std::chrono::milliseconds debounce{200};
  };

  /// `paths`: config files or directories (directories are watched with their subdirectories).
  /// `on_change` runs once the changes settle (see Delays); a further change restarts the wait.
  ConfigWatcher(boost::asio::io_context& io_context, std::vector<std::string> paths, Delays delays,
                std::function<void()> on_change);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  /// Changes to `path` (and to its "<path>.tmp*" siblings, the way serve writes files
  /// atomically) never trigger a reload. Call before start(). Meant for files serve writes
  /// itself, such as the ready file, which may sit inside a watched directory.
  void ignore(const std::string& path);

  /// Sets up the watches and starts reading events. Returns the error (no inotify, a path
  /// that does not exist), if any.
  boost::system::error_code start();

  /// Stops watching; a pending callback is cancelled.
  void stop();

  /// Config files written to and not yet closed: while there are any, the callback waits
  /// the longer delay.
  std::size_t files_being_written() const { return being_written_.size(); }
  /// A change was seen and the callback is waiting for its delay.
  bool change_pending() const { return change_pending_; }

 private:
  void add_watch(const std::string& directory);
  void do_read();
  void on_events(std::size_t bytes);
  /// The changed path if the event concerns the config, else empty.
  std::string relevant_path(int watch, const std::string& name, bool is_directory) const;
  bool is_ignored(const std::string& path) const;

  std::vector<std::string> paths_;
  Delays delays_;
  std::function<void()> on_change_;
  boost::asio::posix::stream_descriptor descriptor_;
  boost::asio::steady_timer timer_;
  std::map<int, std::string> watched_directories_;  // inotify watch -> directory
  std::set<std::string> watched_files_;             // absolute paths of -c files
  std::set<std::string> watched_trees_;             // absolute paths of -c directories
  std::vector<std::string> ignored_;                // absolute paths, see ignore()
  std::set<std::string> being_written_;  // modified, not yet closed (nor renamed or deleted)
  std::vector<char> buffer_;
  bool stopped_ = false;
  bool change_pending_ = false;
};

}  // namespace albemu::cli
