// Mounting the console file system: the mount point made ready (a stale
// mount left by a crashed server is detached), and the FUSE session as an
// owned resource that unmounts when it goes.
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <string>

#include "base/result.hpp"

namespace vcon {

// Creates the mount point if missing. Detaches a dead FUSE mount there
// (returns a line saying so); refuses a live one.
Result<std::string> prepare_mountpoint(const std::string& path);

class FuseSession {
 public:
  // Mounts with allow_other (every user reaches it; access is checked per
  // request); `userdata` is what fuse_req_userdata() returns.
  static Result<FuseSession> mount(const std::string& mountpoint, const fuse_lowlevel_ops& ops, void* userdata);
  FuseSession(FuseSession&& other) noexcept : session_(other.session_) { other.session_ = nullptr; }
  FuseSession& operator=(FuseSession&&) = delete;
  ~FuseSession();

  fuse_session* get() const { return session_; }
  // Lets go without unmounting: the parent of a daemon, whose child serves
  // (and holds its own copy of the session's fd: closing ours unmounts nothing).
  void release();
  int fd() const { return fuse_session_fd(session_); }

 private:
  explicit FuseSession(fuse_session* session) : session_(session) {}
  fuse_session* session_;
};

}  // namespace vcon
