// The one way host code reaches into a zone's root file system. The zone's
// root is hostile: it can make any name a symlink (to "/", to a host path),
// a FIFO or a device at any time, also while halted. So every path is
// resolved by the kernel inside the tree (openat2 RESOLVE_IN_ROOT: ".." and
// absolute symlinks stop at its root; no /proc magic links), and file
// contents are read as data only: regular files, never blocking, bounded.
// Used by zone setup (mount points), `vcon create` and `vcon ps`.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

// `path` under the directory `root`, as the zone would resolve it.
// `resolve` adds RESOLVE_* flags (RESOLVE_NO_SYMLINKS for mount points).
// A file made with O_CREAT gets mode 0644.
Result<UniqueFd> open_in_root(int root, const std::string& path, int flags, std::uint64_t resolve = 0);
// A regular file on the same mount as `root`, at most `limit` bytes of it.
// A FIFO, a device, a directory, a file on another mount (/proc/kcore bound
// there) or a bigger file is an error, not a hang or a huge read.
Result<std::string> read_zone_file(int root, const std::string& path, std::size_t limit);

// A user-namespaced zone's root writes files as uid 0 on disk (the idmapped
// mount): a setuid-root binary or a file capability it makes is one on the
// host too. So other host users must not reach the tree: some directory
// above `rootfs` must be closed to them (no search permission for group
// and others), as /var/lib/vcon/zones (0700) is for template root file
// systems. Fails with what to do.
Result<void> require_private_rootfs(const std::string& rootfs);

}  // namespace vcon
