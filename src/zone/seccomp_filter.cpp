// The zone's seccomp filter, built with libseccomp for the native ABI and,
// on x86_64, for i386 and x32 too (a 32-bit syscall must not slip past).
#include "zone/seccomp_filter.hpp"

#include <seccomp.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/mount.h>

#include <cerrno>

namespace vcon {

namespace {

class Filter {
 public:
  Filter() : ctx_(seccomp_init(SCMP_ACT_ALLOW)) {}
  ~Filter() {
    if (ctx_) seccomp_release(ctx_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

// libseccomp's SCMP_An macros leave the second datum out for SCMP_CMP_EQ,
// which clang warns about; all of it, spelled out.
scmp_arg_cmp arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  return scmp_arg_cmp{index, op, a, b};
}

Error seccomp_error(int rc, const std::string& what) {
  errno = -rc;
  return errno_error("seccomp: " + what);
}

}  // namespace

const std::vector<std::string>& denied_syscalls() {
  static const std::vector<std::string> names{
      "open_by_handle_at", "kexec_load",   "kexec_file_load", "init_module", "finit_module", "delete_module",
      "create_module",     "query_module", "get_kernel_syms", "keyctl",      "add_key",      "request_key",
      "swapon",            "swapoff",      "acct",            "syslog",      "iopl",         "ioperm",
      "bpf",               "perf_event_open", "quotactl",     "quotactl_fd", "fspick",       "lookup_dcookie",
      "nfsservctl",        "uselib",       "vm86",            "vm86old",
  };
  return names;
}

Result<void> load_zone_seccomp_filter() {
  Filter filter;
  if (!filter.get()) return make_error("seccomp: cannot create a filter");
  scmp_filter_ctx ctx = filter.get();
  // No no_new_privs: setuid programs (su, login, sudo) must keep working
  // in the zone; the zone's root holds CAP_SYS_ADMIN in its own user
  // namespace, which is what loading a filter without it requires.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return seccomp_error(rc, "keep no_new_privs off");
#if defined(__x86_64__)
  for (std::uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) return seccomp_error(rc, "add the 32-bit ABIs");
  }
#endif
  for (const auto& name : denied_syscalls()) {
    int number = seccomp_syscall_resolve_name(name.c_str());
    if (number == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), number, 0);
    if (rc < 0 && rc != -EDOM) return seccomp_error(rc, "deny " + name);
  }
  // A remount of a superblock (not of a bind mount) changes the file system
  // for everyone who has it mounted: the host, for a --privileged zone.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mount), 1,
                        arg(3, SCMP_CMP_MASKED_EQ, MS_REMOUNT | MS_BIND, MS_REMOUNT));
  if (rc < 0) return seccomp_error(rc, "deny superblock remounts");
  for (unsigned long request : {TIOCSTI, TIOCLINUX}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          arg(1, SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    if (rc < 0) return seccomp_error(rc, "deny terminal input injection");
  }
  // Console output is the console's record: a zone cannot discard what it
  // wrote before the monitor read it. On a pty, tcflush(TCOFLUSH) on the
  // slave drops what the master has not read yet (getty does it at every
  // start: boot messages vanished under load). Output flushes succeed and
  // do nothing; input flushes still work.
  for (unsigned long queue : {static_cast<unsigned long>(TCOFLUSH), static_cast<unsigned long>(TCIOFLUSH)}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(ioctl), 2, arg(1, SCMP_CMP_MASKED_EQ, 0xffffffffUL, TCFLSH),
                          arg(2, SCMP_CMP_EQ, queue));
    if (rc < 0) return seccomp_error(rc, "keep console output from being flushed");
  }
  rc = seccomp_load(ctx);
  if (rc < 0) return seccomp_error(rc, "load the filter");
  return {};
}

}  // namespace vcon
