// Which init a zone's root file system runs, and the signals that stop it.
#include "zone/guest_init.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.hpp"
#include "temp_dir.hpp"

namespace vcon {

namespace {

class GuestRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"/sbin", "/bin", "/etc", "/usr", "/usr/lib", "/usr/lib/systemd", "/host"}) {
      ASSERT_EQ(::mkdir((tmp.path + dir).c_str(), 0755), 0) << dir;
    }
    ASSERT_EQ(::symlink("usr/lib", (tmp.path + "/lib").c_str()), 0);
  }
  void file(const std::string& path, const std::string& content = "x") {
    ASSERT_TRUE(write_file_atomic(tmp.path + path, content));
  }
  void link(const std::string& target, const std::string& path) {
    ASSERT_EQ(::symlink(target.c_str(), (tmp.path + path).c_str()), 0) << path;
  }
  GuestInitInfo detect(std::vector<std::string> init = {"/sbin/init"}) {
    UniqueFd root(::open(tmp.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ZoneConfig config;
    config.init = std::move(init);
    config.halt_signal = halt;
    config.reboot_signal = reboot;
    return detect_guest_init(root.get(), config);
  }
  TempDir tmp;
  int halt = 0, reboot = 0;
};

}  // namespace

TEST_F(GuestRoot, SystemdThroughUsrMergedSymlinks) {
  file("/usr/lib/systemd/systemd");
  link("/lib/systemd/systemd", "/sbin/init");  // /lib -> usr/lib, resolved inside the root
  auto info = detect();
  EXPECT_EQ(info.kind, GuestInit::Systemd);
  EXPECT_EQ(info.halt_signal, SIGRTMIN + 3);
  EXPECT_EQ(info.reboot_signal, SIGINT);
  EXPECT_EQ(info.warning, "");
}

TEST_F(GuestRoot, SysvinitWarnsWithoutAPowerfailEntry) {
  file("/sbin/init");
  file("/etc/inittab", "id:2:initdefault:\npf::powerwait:/etc/init.d/powerfail start\n");
  auto info = detect();
  EXPECT_EQ(info.kind, GuestInit::Sysvinit);
  EXPECT_EQ(info.halt_signal, SIGPWR);
  EXPECT_EQ(info.reboot_signal, SIGINT);
  EXPECT_NE(info.warning.find("no powerfail entry"), std::string::npos) << info.warning;
  file("/etc/inittab", "id:2:initdefault:\n# p0::powerfail:/sbin/init 0\np0::powerfail:/sbin/init 0\n");
  EXPECT_EQ(detect().warning, "");
  halt = SIGTERM;  // told how to halt it: no warning
  file("/etc/inittab", "id:2:initdefault:\n");
  EXPECT_EQ(detect().warning, "");
}

TEST_F(GuestRoot, BusyboxInitButNotBusyboxsShell) {
  file("/bin/busybox");
  link("/bin/busybox", "/sbin/init");
  link("busybox", "/bin/sh");
  EXPECT_EQ(detect().kind, GuestInit::Busybox);
  EXPECT_EQ(detect().halt_signal, SIGUSR2);
  EXPECT_EQ(detect({"/bin/sh", "-c", "sleep 1"}).kind, GuestInit::Other);
}

TEST_F(GuestRoot, TheZonesSymlinksNeverLeadOutOfItsRoot) {
  // Followed on the host, this is the host's busybox (scripts/install-deps.sh
  // installs it), which would make it busybox init; inside the root, where
  // ".." stops at the top, there is no busybox.
  ASSERT_EQ(::access("/bin/busybox", X_OK), 0);
  link("/../../../../bin/busybox", "/sbin/init");
  EXPECT_EQ(detect().kind, GuestInit::Other);
  EXPECT_EQ(detect().halt_signal, kDefaultHaltSignal);
}

TEST_F(GuestRoot, ZoneTomlSignalsWin) {
  file("/usr/lib/systemd/systemd");
  link("/lib/systemd/systemd", "/sbin/init");
  halt = SIGRTMIN + 4;
  reboot = SIGTERM;
  auto info = detect();
  EXPECT_EQ(info.kind, GuestInit::Systemd);
  EXPECT_EQ(info.halt_signal, SIGRTMIN + 4);
  EXPECT_EQ(info.reboot_signal, SIGTERM);
}

TEST_F(GuestRoot, NoRootIsAnUnknownInit) {
  ZoneConfig config;
  auto info = detect_guest_init(-1, config);
  EXPECT_EQ(info.kind, GuestInit::Other);
  EXPECT_EQ(info.halt_signal, kDefaultHaltSignal);
  EXPECT_EQ(info.reboot_signal, kDefaultRebootSignal);
}

}  // namespace vcon
