// The zone's syscall filter (libseccomp), loaded by zone setup just before
// init runs and by `vcon exec` before the command runs; inherited by all
// they start. It denies what a container must never do whatever its
// capabilities, a second wall behind the user namespace (and the main one
// for --privileged zones): loading kernel code (modules, kexec, bpf),
// file handles (open_by_handle_at reaches any host file), keyrings, swap,
// process accounting, kernel log, raw port I/O, perf, superblock remounts
// (mount -o remount without bind: the host's root file system turned
// read-only), and typing into a terminal (TIOCSTI, TIOCLINUX). They fail
// with EPERM, as they would for an unprivileged process.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace vcon {

Result<void> load_zone_seccomp_filter();
// The syscalls denied outright (for docs and tests).
const std::vector<std::string>& denied_syscalls();

}  // namespace vcon
