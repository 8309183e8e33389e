#include "proxy/cli/config_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace albemu::cli {

namespace fs = std::filesystem;
using boost::system::error_code;

namespace {

constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return (ec ? fs::path(path) : absolute).lexically_normal().string();
}

bool is_yaml_file(const std::string& path) {
  const std::string extension = fs::path(path).extension().string();
  return extension == ".yaml" || extension == ".yml";
}

}  // namespace

ConfigWatcher::ConfigWatcher(boost::asio::io_context& io_context, std::vector<std::string> paths,
                             Delays delays, std::function<void()> on_change)
    : paths_(std::move(paths)),
      delays_(delays),
      on_change_(std::move(on_change)),
      descriptor_(io_context),
      timer_(io_context),
      buffer_(64 * 1024) {}

ConfigWatcher::~ConfigWatcher() { stop(); }

error_code ConfigWatcher::start() {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return {errno, boost::system::system_category()};
  descriptor_.assign(fd);
  for (const std::string& path : paths_) {
    const std::string absolute = absolute_path(path);
    std::error_code ec;
    if (fs::is_directory(absolute, ec)) {
      watched_trees_.insert(absolute);
      add_watch(absolute);
      for (auto it = fs::recursive_directory_iterator(absolute, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec)) add_watch(it->path().string());
      }
      // The parent too, so replacing the whole directory (a bind mount re-created) is seen.
      add_watch(fs::path(absolute).parent_path().string());
    } else if (fs::exists(absolute, ec)) {
      watched_files_.insert(absolute);
      add_watch(fs::path(absolute).parent_path().string());
    } else {
      return {ENOENT, boost::system::system_category()};
    }
  }
  do_read();
  return {};
}

void ConfigWatcher::add_watch(const std::string& directory) {
  for (const auto& [watch, watched] : watched_directories_) {
    if (watched == directory) return;
  }
  const int watch = inotify_add_watch(descriptor_.native_handle(), directory.c_str(), kEvents);
  if (watch >= 0) watched_directories_[watch] = directory;
}

void ConfigWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
  error_code ignored;
  descriptor_.close(ignored);
}

void ConfigWatcher::do_read() {
  descriptor_.async_read_some(boost::asio::buffer(buffer_),
                              [this](error_code ec, std::size_t bytes) {
                                if (ec || stopped_) return;  // closed by stop()
                                on_events(bytes);
                                do_read();
                              });
}

void ConfigWatcher::ignore(const std::string& path) { ignored_.push_back(absolute_path(path)); }

bool ConfigWatcher::is_ignored(const std::string& path) const {
  for (const std::string& ignored : ignored_) {
    if (path == ignored || path.starts_with(ignored + ".tmp")) return true;
  }
  return false;
}

std::string ConfigWatcher::relevant_path(int watch, const std::string& name,
                                         bool is_directory) const {
  const auto found = watched_directories_.find(watch);
  if (found == watched_directories_.end()) return {};
  std::string changed = name.empty() ? found->second : (fs::path(found->second) / name).string();
  if (is_ignored(changed)) return {};
  if (watched_files_.contains(changed) || watched_trees_.contains(changed)) return changed;
  // Below a watched directory, only what the loader reads counts: *.yaml and *.yml files,
  // and directories (one moved away takes its files with it without an event per file).
  if (!is_directory && !is_yaml_file(changed)) return {};
  for (const std::string& tree : watched_trees_) {
    if (changed.size() > tree.size() && changed.starts_with(tree) && changed[tree.size()] == '/')
      return changed;
  }
  return {};
}

void ConfigWatcher::on_events(std::size_t bytes) {
  bool relevant = false;
  std::size_t offset = 0;
  while (offset + sizeof(inotify_event) <= bytes) {
    const auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + offset);
    offset += sizeof(inotify_event) + event->len;
    const std::string name = event->len > 0 ? std::string(event->name) : std::string();
    const bool is_directory = (event->mask & IN_ISDIR) != 0;
    if (event->wd == -1 || (event->mask & IN_Q_OVERFLOW) != 0) {
      // The kernel dropped events: something may have changed, reload to be sure (and stop
      // waiting for closes that may have been dropped).
      relevant = true;
      being_written_.clear();
      continue;
    }
    const std::string changed = relevant_path(event->wd, name, is_directory);
    if (changed.empty()) continue;
    relevant = true;
    // A file opened and written to is complete once it is closed; renamed in or out, or
    // deleted, it is no longer being written here either.
    if ((event->mask & (IN_CREATE | IN_MODIFY)) != 0 && !is_directory) {
      being_written_.insert(changed);
    } else if ((event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) != 0) {
      being_written_.erase(changed);
    }
    // A directory created inside a watched tree may hold config files too.
    if (is_directory && (event->mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
      add_watch((fs::path(watched_directories_[event->wd]) / name).string());
    }
  }
  if (!relevant) return;
  timer_.expires_after(being_written_.empty() ? delays_.settle : delays_.debounce);
  change_pending_ = true;
  timer_.async_wait([this](error_code ec) {
    if (ec || stopped_) return;
    change_pending_ = false;
    being_written_.clear();  // a writer that never closed: reload what is there
    on_change_();
  });
}

}  // namespace albemu::cli
