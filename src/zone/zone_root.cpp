// openat2-based access to a zone's tree.
#include "zone/zone_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vcon {

Result<UniqueFd> open_in_root(int root, const std::string& path, int flags, std::uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
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
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return errno_error("stat " + path + " in the zone's root");
  if (!S_ISREG(st.st_mode)) return make_error(path + " in the zone's root is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > limit) {
    return make_error(path + " in the zone's root is larger than " + std::to_string(limit) + " bytes");
  }
  std::string content(limit, '\0');
  std::size_t filled = 0;
  while (filled < limit) {
    ssize_t n = ::read(fd->get(), content.data() + filled, limit - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path + " in the zone's root");
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  content.resize(filled);
  return content;
}

}  // namespace vcon
