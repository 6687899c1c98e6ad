// The monitor of one serial line (`vcon serve` starts one per consoledb
// `dev=` entry): the same ring, log, socket, hub and access rules as a
// zone's monitor, with a device behind them instead of a pty. It takes the
// line only with both locks (the UUCP lock file and flock), respects other
// holders (busy, retried with back-off), and gets a lost line back by
// itself. With openondemand= it holds the line only while clients are
// attached.
#pragma once

#include <string>

#include "base/paths.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

struct LineMonitorOptions {
  Paths paths;
  std::string console;  // its consoledb entry's name
  UniqueFd lock;        // RUNDIR/.lines/NAME/monitor.lock, flock'ed: held for our whole life
};

// Runs until SIGTERM/SIGINT or until the entry leaves the consoledb.
// Returns the process exit code.
int run_line_monitor(LineMonitorOptions options);

}  // namespace vcon
