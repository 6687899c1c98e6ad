// `vcon log NAME [-f] [-n N] [--raw]`: print a zone's console log, optionally
// following it like tail -f (inotify, no polling).
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <deque>
#include <string>

#include "base/files.hpp"
#include "base/names.hpp"
#include "cli/commands.hpp"
#include "console/log_format.hpp"

namespace vcon::cli {

namespace {

void write_out(const std::string& text) {
  if (!write_all(1, text)) std::exit(0);  // the reader went away (e.g. `| head`)
}

// Turns log text into output, line by line; keeps a partial last line for later.
class Printer {
 public:
  Printer(bool raw, bool visible) : raw_(raw), visible_(visible) {}
  std::string take(std::string& pending) {
    std::string out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl + 1 - start);
      out += raw_ ? reader_.raw(line) : visible_ ? make_visible(line) : std::string(line);
    }
    pending.erase(0, start);
    return out;
  }
  std::string finish() { return raw_ ? reader_.finish() : std::string(); }

 private:
  bool raw_;
  bool visible_;  // timestamped lines to a terminal: control characters shown, not obeyed
  LogLineReader reader_;
};

}  // namespace

Result<int> log_command(const Paths& paths, const LogOptions& options) {
  if (options.name.empty() || options.name.find('/') != std::string::npos || options.name[0] == '.') {
    return make_error("'" + options.name + "' is not a console name");
  }
  std::string path = console_log_path(paths, options.name, options.audit);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return make_error("console " + options.name + " has no log yet (" + path + "); boot the zone or serve the line first");
    }
    return errno_error("open " + path);
  }
  std::string content;
  if (auto read = read_to_end(fd.get(), content); !read) return Error{"read " + path, read.error().errno_value};

  // -n N: the last N lines (console lines only, with --raw).
  if (options.lines >= 0) {
    std::deque<std::size_t> starts;
    std::size_t start = 0;
    for (std::size_t nl; (nl = content.find('\n', start)) != std::string::npos; start = nl + 1) {
      auto kind = LogLineReader::parse(std::string_view(content).substr(start, nl + 1 - start)).kind;
      if (options.raw && (kind == '*' || kind == '~')) continue;
      starts.push_back(start);
      if (starts.size() > static_cast<std::size_t>(options.lines)) starts.pop_front();
    }
    std::size_t keep_from = starts.empty() ? start : starts.front();
    if (options.lines == 0) keep_from = start;
    content.erase(0, keep_from);
  }
  Printer printer(options.raw, ::isatty(1));
  write_out(printer.take(content));
  if (!options.follow) {
    write_out(content + printer.finish());
    return 0;
  }

  UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!watch || ::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY) < 0) return errno_error("watch " + path);
  for (;;) {
    if (auto read = read_to_end(fd.get(), content); !read) return Error{"read " + path, read.error().errno_value};
    write_out(printer.take(content));
    write_out(printer.finish());
    pollfd p{watch.get(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return errno_error("wait for " + path);
    char events[4096];
    while (::read(watch.get(), events, sizeof events) > 0) {
    }
  }
}

}  // namespace vcon::cli
