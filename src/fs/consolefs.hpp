// `vcon fs`: every console as files, as Plan 9's consolefs does. One flat
// directory; for each console NAME the files NAME (read: the console's
// output, replay first, then live; write: console input under the write
// lock), NAMEctl (commands, one per write) and NAMEstat (a status text).
// libfuse3's low-level API on one Asio loop: a read with nothing to return
// waits without blocking anyone, and each open NAME is its own client of the
// console's monitor. Access per the consoledb for the calling user.
#pragma once

#include <string>

#include "base/paths.hpp"
#include "base/result.hpp"

namespace vcon {

struct FsOptions {
  std::string mountpoint = "/mnt/consoles";
  bool foreground = false;
};

// Mounts, serves until SIGTERM/SIGINT/SIGHUP or an unmount, unmounts.
// Returns the process exit code, or what kept it from mounting; without
// `foreground` it returns (in the parent) once the file system is mounted,
// and a child serves it.
Result<int> run_consolefs(const Paths& paths, const FsOptions& options);

}  // namespace vcon
