// Mount point handling.
#include "fs/mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "base/files.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

namespace {
// The file system type mounted exactly at `path`, if any (/proc/self/mountinfo).
std::string mounted_type(const std::string& path) {
  std::ifstream info("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(info, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    auto separator = line.find(" - ");
    if (point == path && separator != std::string::npos) {
      std::istringstream rest(line.substr(separator + 3));
      rest >> type;  // the last mount there is the one in force
    }
  }
  return type;
}
}  // namespace

Result<std::string> prepare_mountpoint(const std::string& path) {
  if (path.empty() || path[0] != '/') return make_error("mount point '" + path + "' must be an absolute path");
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 && errno == ENOTCONN) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0) return errno_error("detach the stale mount on " + path);
    return std::string("detached a stale console file system on " + path + " (its server had died)");
  }
  VCON_TRY(make_directories(path, 0755));
  char* resolved = ::realpath(path.c_str(), nullptr);
  std::string real = resolved ? resolved : path;
  std::free(resolved);
  std::string type = mounted_type(real);
  if (type.rfind("fuse", 0) == 0) {
    return make_error(fmt::format("{} already has a {} file system mounted; unmount it first (umount {})", path, type,
                                  path));
  }
  return std::string();
}

Result<FuseSession> FuseSession::mount(const std::string& mountpoint, const fuse_lowlevel_ops& ops, void* userdata) {
  const char* argv[] = {"vcon", "-o", "allow_other,fsname=vcon,subtype=consoles", nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, userdata);
  fuse_opt_free_args(&args);
  if (!session) return make_error("cannot start a FUSE session (is /dev/fuse there?)");
  if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    fuse_session_destroy(session);
    return make_error("cannot mount the console file system on " + mountpoint + " (see the line above)");
  }
  return FuseSession(session);
}

void FuseSession::release() {
  if (session_) fuse_session_destroy(session_);  // frees; only fuse_session_unmount() unmounts
  session_ = nullptr;
}

FuseSession::~FuseSession() {
  if (!session_) return;
  fuse_session_unmount(session_);
  fuse_session_destroy(session_);
}

}  // namespace vcon
