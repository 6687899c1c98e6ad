// The embedded default root file system: built from the host's busybox-static.
// Used by `vcon create --template busybox`.
#pragma once

#include <string>

#include "base/result.hpp"

namespace vcon {

constexpr const char* kBusyboxPath = "/bin/busybox";

// Builds a busybox root file system in `rootfs` (which must not exist yet).
Result<void> build_busybox_rootfs(const std::string& rootfs, const std::string& hostname);

}  // namespace vcon
