// Busybox root file system builder: one copy of the static binary, a symlink
// per applet, and the few files init and a shell expect.
#include "zone/busybox_template.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "base/files.hpp"

namespace vcon {

namespace {

const char* const kInittab =
    "# vcon busybox zone. Console lines go to /dev/console, the zone's own.\n"
    "::sysinit:/bin/mount -t tmpfs -o mode=1777 tmpfs /tmp\n"
    "::sysinit:/bin/echo \"vcon: zone $(hostname) is up\"\n"
    "# getty makes the console the shell's controlling terminal (taking it\n"
    "# from init), so job control and Ctrl-C work there.\n"
    "::respawn:/sbin/getty -n -l /sbin/console-shell 0 /dev/console\n"
    "::ctrlaltdel:/sbin/reboot\n"
    "::shutdown:/bin/echo \"vcon: zone $(hostname) going down\"\n";

// getty runs its login program as "PROG -- NAME"; we want a login shell.
const char* const kConsoleShell = "#!/bin/sh\nexec /bin/sh -l\n";

const char* const kProfile =
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
    "export PS1='\\h:\\w\\$ '\n";

Result<void> copy_file(const std::string& from, const std::string& to, mode_t mode) {
  auto content = read_file(from);
  if (!content) return content.error();
  UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return errno_error("create " + to);
  if (!write_all(fd.get(), content.value())) return errno_error("write " + to);
  return {};
}

}  // namespace

Result<void> build_busybox_rootfs(const std::string& rootfs, const std::string& hostname) {
  if (::access(kBusyboxPath, X_OK) != 0) {
    return errno_error(std::string("template busybox needs ") + kBusyboxPath +
                       " (install Debian's busybox-static: scripts/install-deps.sh)");
  }
  auto applets = run_command({kBusyboxPath, "--list-full"});
  if (!applets) return applets.error();
  if (::mkdir(rootfs.c_str(), 0755) != 0) return errno_error("create " + rootfs);
  for (const char* dir : {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp",
                          "root", "var", "var/log", "run", "home"}) {
    VCON_TRY(make_directories(rootfs + "/" + dir, std::string(dir) == "tmp" ? 01777 : 0755));
  }
  VCON_TRY(copy_file(kBusyboxPath, rootfs + "/bin/busybox", 0755));
  std::istringstream lines(applets.value());
  for (std::string applet; std::getline(lines, applet);) {
    if (applet.empty() || applet == "bin/busybox") continue;
    std::string link = rootfs + "/" + applet;
    if (::symlink("/bin/busybox", link.c_str()) != 0 && errno != EEXIST) return errno_error("create " + link);
  }
  VCON_TRY(write_file_atomic(rootfs + "/etc/inittab", kInittab));
  VCON_TRY(write_file_atomic(rootfs + "/etc/profile", kProfile));
  VCON_TRY(write_file_atomic(rootfs + "/sbin/console-shell", kConsoleShell, 0755));
  VCON_TRY(write_file_atomic(rootfs + "/etc/hostname", hostname + "\n"));
  VCON_TRY(write_file_atomic(rootfs + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
  VCON_TRY(write_file_atomic(rootfs + "/etc/group", "root:x:0:\ntty:x:5:\n"));
  return {};
}

}  // namespace vcon
