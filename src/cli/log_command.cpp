// `vcon log NAME [-f] [-n N] [--raw]`: print a zone's console log, optionally
// following it like tail -F (inotify; from one file to the next when the
// log rotates).
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "base/files.hpp"
#include "base/names.hpp"
#include "cli/commands.hpp"
#include "console/log_format.hpp"
#include "proto/client.hpp"

namespace vcon::cli {

namespace {

void write_out(const std::string& text) {
  if (!write_all(1, text)) std::exit(0);  // the reader went away (e.g. `| head`)
}

// Turns log text into output, line by line, the way it shows complete ones:
// raw as the console bytes it holds, else (on a terminal) escaped. An
// unfinished last line (a prompt, most often) is shown as far as it goes
// and the rest of it when it comes. Nothing the zone wrote reaches a
// terminal unescaped, and with --raw nothing but what the zone wrote is
// printed (vcon's stamps and events never).
class Printer {
 public:
  Printer(bool raw, bool visible) : raw_(raw), visible_(visible) {}

  // Consumes what `pending` holds: its complete lines, and shows the
  // unfinished one as far as it goes (it stays in `pending`, to be finished).
  std::string take(std::string& pending) {
    std::string out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      out += show(std::string_view(pending.data() + start, nl + 1 - start));
    }
    pending.erase(0, start);
    if (pending.size() > shown_ && LogLineReader::parse(pending).kind != '*' &&
        LogLineReader::parse(pending).kind != '~' && pending.size() >= kTimestampLength + 3) {
      out += show(pending);  // a console line so far: events are written whole
    }
    return out;
  }

  // At the end for now: the newline --raw held back, if any. vcon writes
  // the newline it adds together with the '~' event after it, so a newline
  // at the end of what is there is the zone's.
  std::string flush() { return raw_ ? reader_.finish() : std::string(); }

 private:
  // A whole line, or (no '\n') the beginning of one; `shown_` is how much
  // of the current line was shown before.
  std::string show(std::string_view line) {
    bool whole = line.back() == '\n';
    std::string_view fresh = line.substr(shown_);
    std::string out;
    if (raw_) {
      out = shown_ == 0 ? reader_.raw(line) : reader_.raw_continued(fresh);
    } else {
      out = visible_ ? make_visible(fresh) : std::string(fresh);
    }
    shown_ = whole ? 0 : line.size();
    return out;
  }

  bool raw_;
  bool visible_;  // timestamped lines to a terminal: control characters shown, not obeyed
  std::size_t shown_ = 0;
  LogLineReader reader_;
};

}  // namespace

namespace {
// A log that is root's on disk, from the console's monitor, which checks the
// caller against the consoledb first.
Result<UniqueFd> log_from_monitor(const Paths& paths, const LogOptions& options, const std::string& path) {
  auto socket = console_socket(paths, options.name);
  if (!socket) {
    return make_error("cannot read " + path + " (" + std::string(std::strerror(EACCES)) +
                      "), and no monitor of " + options.name + " runs to ask: " + socket.error().message());
  }
  auto client = proto::MonitorClient::connect_control(*socket);
  if (!client) return client.error();
  return client->request_fd({{"op", "log"}, {"audit", options.audit}}, 10);
}

// The log as it is now: opened here, or, when it is root's to read (mode
// 0640), by the console's monitor for a caller it lets read it.
Result<UniqueFd> open_log(const Paths& paths, const LogOptions& options, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) return fd;
  if (errno == EACCES) return log_from_monitor(paths, options, path);
  if (errno == ENOENT) {
    return make_error("console " + options.name + " has no log yet (" + path + "); boot the zone or serve the line first");
  }
  return errno_error("open " + path);
}

// Tells a follower when the log may have changed: a write, or whatever a
// rotation does (a link made or removed, a rename, a deletion). It watches
// each file followed, by its own inode, also when the monitor opened it.
// inotify wants that readable, so for a user who got the file from the
// monitor it watches the log directory for the log's name instead.
class LogWatch {
 public:
  static Result<LogWatch> make(const std::string& path) {
    LogWatch watch;
    watch.path_ = path;
    watch.inotify_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!watch.inotify_) return errno_error("watch " + path);
    return watch;
  }

  // Watches the file behind fd too; the files watched before stay watched
  // until they are deleted.
  Result<void> add(int fd) {
    if (!name_.empty()) return {};  // the directory is watched already
    std::string file = "/proc/self/fd/" + std::to_string(fd);
    if (::inotify_add_watch(inotify_.get(), file.c_str(), IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF) >= 0) {
      return {};
    }
    int error = errno;
    std::size_t slash = path_.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
    if (error != EACCES || ::inotify_add_watch(inotify_.get(), dir.c_str(),
                                               IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO |
                                                   IN_DELETE) < 0) {
      return errno_error("watch " + path_);
    }
    name_ = path_.substr(slash + 1);
    return {};
  }

  // Returns at a change, or after a second: logrotate moving the log away
  // and making a new one later, or writing the moved one, wakes nothing.
  Result<void> wait() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{inotify_.get(), POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
      if (ready < 0 && errno != EINTR) return errno_error("wait for " + path_);
      alignas(inotify_event) char events[4096];
      bool ours = name_.empty();
      for (ssize_t n; (n = ::read(inotify_.get(), events, sizeof events)) > 0;) {
        for (ssize_t at = 0; at < n;) {
          auto* event = reinterpret_cast<const inotify_event*>(events + at);
          if ((event->mask & IN_Q_OVERFLOW) || (event->len && name_ == event->name)) ours = true;
          at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
      }
      if (ours || ready == 0 || left.count() <= 0) return {};
      // Another log's write: let a flood's events gather (and merge)
      // rather than wake for each.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  std::string path_;
  UniqueFd inotify_;
  std::string name_;  // the log's, when the directory is watched
};
}  // namespace

Result<int> log_command(const Paths& paths, const LogOptions& options) {
  VCON_TRY(validate_console_name(options.name));
  if (options.lines < -1) return make_error("-n " + std::to_string(options.lines) + ": give a number of lines, 0 or more");
  std::string path = console_log_path(paths, options.name, options.audit);
  auto opened = open_log(paths, options, path);
  if (!opened) return opened.error();
  UniqueFd fd = std::move(opened.value());
  std::string content;
  if (auto read = read_to_end(fd.get(), content); !read) return Error{"read " + path, read.error().errno_value};

  // -n N: the last N lines, an unfinished last line counting as one; with
  // --raw, console lines (a line an event cut and '+' continued is one);
  // -n 0: none (with -f: only what comes).
  if (options.lines >= 0) {
    std::deque<std::size_t> starts;
    for (std::size_t start = 0; start < content.size();) {
      std::size_t nl = content.find('\n', start);
      std::size_t end = nl == std::string::npos ? content.size() : nl + 1;
      auto kind = LogLineReader::parse(std::string_view(content).substr(start, end - start)).kind;
      if (!options.raw || kind == '|' || kind == '?') starts.push_back(start);
      if (starts.size() > static_cast<std::size_t>(options.lines)) starts.pop_front();
      start = end;
    }
    content.erase(0, starts.empty() ? content.size() : starts.front());
  }
  Printer printer(options.raw, ::isatty(1));
  write_out(printer.take(content));
  write_out(printer.flush());
  if (!options.follow) {
    if (!content.empty() && !options.raw && content.back() != '\n') write_out("\n");  // the prompt's line ends here
    return 0;
  }

  auto watch = LogWatch::make(path);
  if (!watch) return watch.error();
  VCON_TRY(watch->add(fd.get()));
  UniqueFd previous;  // the file before the last switch, while the monitor may still write it
  std::optional<FileId> refused;  // a file at the name that the monitor would not give us
  // What a file got since it was last read, shown.
  auto show_new = [&](int from) -> Result<void> {
    if (auto read = read_to_end(from, content); !read) return Error{"read " + path, read.error().errno_value};
    write_out(printer.take(content));
    return {};
  };
  for (;;) {
    if (previous) {
      // logrotate makes the new file (`create`) before the monitor's
      // SIGHUP reopen, and until then the monitor writes the old one. It
      // writes the new one only after its last write to the old: once the
      // new one has anything, the old one read to its end is done with.
      struct stat now {};
      bool done = ::fstat(fd.get(), &now) == 0 && now.st_size > 0;
      VCON_TRY(show_new(previous.get()));
      if (done) previous.reset();
    }
    VCON_TRY(show_new(fd.get()));
    auto named = file_id(path);
    if (named && *named != file_id(fd.get()) && named != refused) {
      // The log's name is another file's now: a rotation (vcon's own
      // writes its last line to the old file first) or logrotate. A
      // follower more than one rotation behind skips the files between,
      // as tail -F does.
      auto next = open_log(paths, options, path);
      if (next && file_id(next->get()) == file_id(fd.get())) {
        // The monitor's log is not this name's (a zone's leftover log
        // beside a served serial line of one name): stay, and do not ask
        // again for this file.
        refused = named;
      } else if (next) {
        if (previous) {
          // Replaced before it had anything, while the monitor wrote on
          // in `previous` (logrotate without a SIGHUP, then a rotation).
          VCON_TRY(show_new(fd.get()));
          fd = std::move(next.value());
        } else {
          previous = std::exchange(fd, std::move(next.value()));
        }
        VCON_TRY(watch->add(fd.get()));
        continue;
      }
    }
    write_out(printer.flush());  // after take(): it may hold a newline
    VCON_TRY(watch->wait());
  }
}

}  // namespace vcon::cli
