// `vcon serve`: a monitor for every serial line of the consoledb
// (`console=NAME dev=PATH`), kept in step with the file: an added entry's
// monitor starts, a removed one's stops, a changed one is told (SIGHUP) and
// applies the new settings. Each line's monitor is a process of its own
// (`vcon monitor-line NAME`, exec'd), restarted if it dies. What a systemd
// unit runs (contrib/vcon-serve.service).
#pragma once

#include <string>

#include "base/paths.hpp"
#include "base/result.hpp"

namespace vcon {

struct ServeOptions {
  bool foreground = false;
};

Result<int> run_serve(const Paths& paths, const ServeOptions& options);

// The hidden `vcon monitor-line NAME`: takes the line's monitor lock, then
// runs its monitor.
Result<int> run_monitor_line(const Paths& paths, const std::string& console);

}  // namespace vcon
