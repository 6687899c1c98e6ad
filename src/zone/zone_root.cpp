// openat2-based access to a zone's tree.
#include "zone/zone_root.hpp"

#include "base/files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace vcon {

Result<UniqueFd> open_in_root(int root, const std::string& path, int flags, std::uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  if (flags & O_CREAT) how.mode = 0644;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  long fd;
  do fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);  // a rename raced the lookup
  if (fd < 0) {
    if (errno == ELOOP && (resolve & RESOLVE_NO_SYMLINKS)) return errno_error(path + " in the zone's root is a symlink");
    if (errno == EXDEV) return errno_error(path + " in the zone's root is on another mount");
    return errno_error("open " + path + " in the zone's root");
  }
  return UniqueFd(static_cast<int>(fd));
}

Result<std::string> read_zone_file(int root, const std::string& path, std::size_t limit) {
  auto fd = open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, RESOLVE_NO_XDEV);
  if (!fd) return fd.error();
  return read_regular_fd(fd->get(), path + " in the zone's root", limit);
}

Result<void> require_private_rootfs(const std::string& rootfs) {
  std::string dir = rootfs;
  while (dir.size() > 1) {
    dir = dir.substr(0, dir.rfind('/'));
    if (dir.empty()) dir = "/";
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return errno_error("stat " + dir);
    if ((st.st_mode & 0011) == 0 && st.st_uid == 0) return {};
  }
  return make_error("rootfs " + rootfs +
                    " is reachable by other users of this host: files the zone's root makes setuid or gives "
                    "capabilities would work for them there. Close a directory above it to them (chmod 700 " +
                    rootfs.substr(0, std::max<std::size_t>(rootfs.rfind('/'), 1)) +
                    ", as vcon's own zones directory is), or create the zone --privileged");
}

}  // namespace vcon
