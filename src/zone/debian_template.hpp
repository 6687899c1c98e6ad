// The Debian templates: Debian 12 root file systems built with mmdebstrap
// from the machine's own apt sources, once, into the cache directory, and
// copied for each zone that asks for one (vcon create --template debian or
// debian-sysvinit).
//
// Why a copy each, not an overlay on the cache: a zone is a machine of its
// own that upgrades its packages and edits /etc, and a user namespace's
// root writes through an idmapped mount, which overlayfs layers make harder
// to reason about; a copy is independent of the cache (rebuilding it
// changes no zone) and destroy removes all of it. It costs about 200 MiB
// and a second or two per zone.
#pragma once

#include <optional>
#include <string>

#include "base/paths.hpp"
#include "base/result.hpp"

namespace vcon {

struct DebianTemplate {
  const char* name;     // as --template names it
  const char* init;     // what init it runs: "systemd" or "sysvinit"
  const char* include;  // mmdebstrap --include
};

// nullptr if `name` is not one.
const DebianTemplate* find_debian_template(const std::string& name);

struct DebianZoneSetup {
  std::string hostname;
  std::optional<std::string> root_password;  // none: root's password stays locked
};

// Makes `rootfs` (which must not exist) a copy of the template, built into
// the cache first if it is not there (or `rebuild`), with the zone's
// hostname and root password. `progress` gets a line for what takes long.
Result<void> install_debian_rootfs(const Paths& paths, const DebianTemplate& flavor, const std::string& rootfs,
                                   const DebianZoneSetup& setup, bool rebuild);

}  // namespace vcon
