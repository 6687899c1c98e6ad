// vcon: the command line. One binary; the per-zone monitor is a fork of
// `vcon boot`. Parses arguments (CLI11), resolves paths, runs one
// command and turns its Result into a one-line error and an exit code.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "console/escape.hpp"
#include "fs/consolefs.hpp"
#include "monitor/keeper.hpp"
#include "serial/serve.hpp"

namespace {

int report(const vcon::Result<int>& result) {
  if (result) return result.value();
  fmt::print(stderr, "vcon: {}\n", result.error().message());
  return result.error().exit_code;
}

bool require_root(const std::string& command) {
  if (::geteuid() == 0) return true;
  fmt::print(stderr, "vcon {}: must be run as root (zones need namespaces and mounts); try: sudo vcon {} ...\n",
             command, command);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vcon: zones with their own /dev/console, and consoles for operators", "vcon"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "vcon " VCON_VERSION);
  vcon::Paths paths;
  app.add_option("--state-dir", paths.state_dir, "zone definitions (env VCON_STATE_DIR, default /var/lib/vcon)");
  app.add_option("--run-dir", paths.run_dir, "monitor sockets and locks (env VCON_RUN_DIR, default /run/vcon)");
  app.add_option("--log-dir", paths.log_dir, "console logs (env VCON_LOG_DIR, default /var/log/vcon)");
  app.add_option("--consoledb", paths.consoledb,
                 "who may use which console (env VCON_CONSOLEDB, default /etc/vcon/consoledb)");
  app.add_option("--lock-dir", paths.lock_dir, "UUCP lock files of serial lines (env VCON_LOCK_DIR, default /var/lock)");
  app.add_option("--cache-dir", paths.cache_dir,
                 "Debian templates, built once (env VCON_CACHE_DIR, default /var/cache/vcon)");

  vcon::cli::CreateOptions create;
  auto* create_cmd = app.add_subcommand("create", "define a zone (default root file system: the busybox template)");
  create_cmd->add_option("name", create.name, "zone name: [a-z0-9][a-z0-9_.-]{0,62}")->required();
  auto* rootfs_opt = create_cmd->add_option("--rootfs", create.rootfs, "use this directory as the root file system");
  create_cmd->add_option("--template", create.template_name,
                         "build the root file system: busybox, debian (Debian 12, systemd) or debian-sysvinit")
      ->excludes(rootfs_opt);
  create_cmd->add_option("--hostname", create.hostname, "the zone's hostname (default: its name)");
  create_cmd->add_option("--net", create.net, "network: none (own namespace, only lo) or host")
      ->check(CLI::IsMember({"none", "host"}));
  create_cmd->add_option("--ring-size", create.ring_size, "console bytes kept for replay (default 1 MiB)")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30));
  create_cmd->add_flag("--privileged", create.privileged,
                       "no user namespace: the zone's root is the host's root (not a security boundary)");
  create_cmd->add_option("--memory", create.memory, "memory limit (cgroup), such as 512M or 2G");
  create_cmd->add_option("--pids", create.pids, "limit on the number of processes and threads (cgroup)");
  create_cmd->add_option("--halt-signal", create.halt_signal,
                         "what asks its init to power off (default: by the init it runs: busybox SIGUSR2, systemd "
                         "SIGRTMIN+3, sysvinit SIGPWR)");
  create_cmd->add_option("--reboot-signal", create.reboot_signal,
                         "what asks its init to reboot (default: busybox SIGTERM, systemd and sysvinit SIGINT)");
  create_cmd->add_option("--root-password-file", create.root_password_file,
                         "Debian templates: root's password, the first line of this file (default: locked; "
                         "vcon exec NAME -- passwd sets it)");
  create_cmd->add_flag("--rebuild-template", create.rebuild_template,
                       "Debian templates: build the cached root file system again first (new packages)");
  create_cmd->add_option("init", create.init, "init and its arguments, after -- (default /sbin/init)");

  std::string name;
  int timeout = 10;
  bool force = false, as_json = false;
  auto* boot_cmd = app.add_subcommand("boot", "start the zone's monitor and init; returns once init runs");
  std::vector<std::string> boot_names;
  boot_cmd->add_option("name", boot_names, "zone, or several (booted a few at a time)")->required();
  bool boot_console = false;
  boot_cmd->add_flag("--console", boot_console,
                     "then attach to its console, showing the boot from its first byte (as lxc-start -F)");
  auto* halt_cmd = app.add_subcommand(
      "halt", "ask init to power off (with the signal its init expects); kill the zone after --timeout (exit 3)");
  halt_cmd->add_option("name", name, "zone")->required();
  halt_cmd->add_option("--timeout", timeout, "seconds to wait for init before killing (default 10)")
      ->check(CLI::Range(0, 24 * 3600));
  halt_cmd->add_flag("--force", force, "kill the zone at once");
  auto* reboot_cmd = app.add_subcommand(
      "reboot", "ask init to reboot; the console and its log stay; kill and boot again after --timeout (exit 3)");
  reboot_cmd->add_option("name", name, "zone")->required();
  reboot_cmd->add_option("--timeout", timeout, "seconds to wait for init before killing (default 10)")
      ->check(CLI::Range(0, 24 * 3600));
  auto* destroy_cmd = app.add_subcommand("destroy", "remove a zone's definition (and a template-built rootfs)");
  destroy_cmd->add_option("name", name, "zone")->required();
  destroy_cmd->add_flag("--force", force, "halt the zone first if it runs");
  bool purge = false;
  destroy_cmd->add_flag("--purge", purge,
                        "also remove its logs (console, audit, monitor; rotated ones too); for a zone destroyed "
                        "before, only its logs");
  auto* ls_cmd = app.add_subcommand("ls", "list zones: name, state, init host PID, uptime");
  ls_cmd->add_flag("--json", as_json, "machine-readable output");
  auto* ps_cmd = app.add_subcommand("ps", "processes of one zone or all zones, with host and zone PIDs");
  ps_cmd->add_option("name", name, "zone (default: every running zone)");
  ps_cmd->add_flag("--json", as_json, "machine-readable output");
  std::vector<std::string> command;
  auto* exec_cmd = app.add_subcommand("exec", "run a command in a running zone (a fresh pty when stdin is a terminal)");
  exec_cmd->add_option("name", name, "zone")->required();
  exec_cmd->add_option("command", command, "command and arguments (after --)")->required();
  vcon::cli::LogOptions log;
  auto* log_cmd = app.add_subcommand("log", "print a console's log (timestamp per line)");
  log_cmd->add_option("name", log.name, "zone or serial line")->required();
  log_cmd->add_flag("-f,--follow", log.follow,
                    "keep printing what arrives, like tail -F (on into the next file when the log rotates)");
  log_cmd->add_option("-n,--lines", log.lines, "only the last N lines (an unfinished last line counts as one)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return value.empty() || value[0] == '-' ? "give a number of lines, 0 or more, not " + value : "";
          },
          "N"));
  log_cmd->add_flag("--audit", log.audit,
                    "the audit log instead: attach, detach, takeover, ctl commands, refusals, monitor restarts "
                    "(and typed input where the consoledb says auditinput=); console output cannot rotate it away");
  log_cmd->add_flag("--raw", log.raw,
                    "console bytes exactly: no timestamps, no vcon events (otherwise, on a terminal, control characters are shown as ^X)");


  vcon::cli::ConsoleOptions console;
  std::string escape_char;
  bool no_escape = false;
  auto* console_cmd = app.add_subcommand("console", "attach to a console (a zone's or a served serial line): many viewers, one writer");
  console_cmd->add_option("name", console.name, "zone or serial line")->required();
  auto* read_only_flag = console_cmd->add_flag("-r,--read-only", console.read_only, "watch only; never write");
  console_cmd->add_flag("-f,--force", console.force, "take write access from its holder (who becomes a viewer)")
      ->excludes(read_only_flag);
  auto* escape_opt = console_cmd->add_option("-e,--escape", escape_char, "escape character at line start (default ~)");
  console_cmd->add_flag("-E,--no-escape", no_escape, "no escape character")->excludes(escape_opt);
  console_cmd->add_option("--replay", console.replay, "first show up to BYTES of recent output (default 16384)")
      ->expected(0, 1)
      ->default_str("16384")
      ->check(CLI::Range(0LL, 1LL << 30));
  console_cmd->add_flag("-d,--detach-on-halt", console.detach_on_halt,
                        "leave when the zone halts (default: wait for it to boot again)");
  console_cmd->add_option("--host", console.host, "attach to a zone on another host through ssh HOST vcon proxy");
  console_cmd->footer(
      "At the start of a line, the escape (~ unless -e) followed by:\n"
      "  .  detach                  w  who is attached\n"
      "  f  take write access       r  go read-only (let another write)\n"
      "  p  the last screenful      # or b  send a break (serial lines)\n"
      "  ?  this list               ~  send the escape itself\n"
      "vcon's own lines start with a token made for this attach ([#3fa9c01b5d2e ...]), shown when it begins:\n"
      "a line without it came from the console. Input from a pipe is sent, and vcon leaves once the\n"
      "console has been quiet for half a second after its end; -r without a terminal watches until\n"
      "the zone halts or a signal.");
  auto* proxy_cmd = app.add_subcommand("proxy", "carry the monitor protocol over stdin/stdout (for ssh)");
  proxy_cmd->add_option("name", name, "zone or serial line")->required();
  auto* who_cmd = app.add_subcommand("who", "list clients attached to a console");
  who_cmd->add_option("name", name, "zone or serial line")->required();
  who_cmd->add_flag("--json", as_json, "machine-readable output");

  std::vector<std::string> ctl_words;
  auto* ctl_cmd = app.add_subcommand("ctl", "send a console a command: resize ROWS COLS, break, hangup, bSPEED");
  ctl_cmd->add_option("name", name, "console (zone or serial line)")->required();
  ctl_cmd->add_option("command", ctl_words, "the command and its arguments")->required();

  vcon::FsOptions fs;
  auto* fs_cmd = app.add_subcommand("fs", "show every console as files: NAME, NAMEctl, NAMEstat (FUSE, like Plan 9's consolefs)");
  fs_cmd->add_option("mountpoint", fs.mountpoint, "where to mount (default /mnt/consoles)");
  fs_cmd->add_flag("--foreground", fs.foreground, "serve in this process (default: a background server)");

  vcon::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "serve every serial line of the consoledb (dev= entries), following its edits");
  serve_cmd->add_flag("--foreground", serve.foreground, "serve in this process (default: a background server)");
  std::string line_name;
  auto* monitor_line_cmd = app.add_subcommand("monitor-line", "one serial line's monitor (started by vcon serve)");
  monitor_line_cmd->group("");  // internal: not in --help
  monitor_line_cmd->add_option("name", line_name, "console")->required();
  auto* check_cmd = app.add_subcommand(
      "check", "check the consoledb, every zone definition and the id range registry (exit status 1 on problems)");
  std::string handoff, reason;
  auto* monitor_cmd = app.add_subcommand("monitor", "a zone's monitor, started by its keeper from a new binary");
  monitor_cmd->group("");  // internal: not in --help
  monitor_cmd->add_option("name", name, "zone")->required();
  monitor_cmd->add_option("--handoff", handoff, "what the keeper hands over")->required();
  monitor_cmd->add_option("--reason", reason, "why");
  std::string binary;
  bool all_zones = false;
  auto* upgrade_cmd = app.add_subcommand(
      "upgrade", "hand a running zone's console over to a new monitor (this vcon binary, or --binary): no restart");
  upgrade_cmd->add_option("name", name, "zone");
  upgrade_cmd->add_flag("--all", all_zones, "every running zone");
  upgrade_cmd->add_option("--binary", binary, "the vcon to run the new monitor (default: this one)");

  std::string help_topic;
  auto* help_cmd = app.add_subcommand("help", "this list, or one command's options: vcon help COMMAND");
  help_cmd->add_option("command", help_topic, "a command");

  if (argc == 1) {
    fmt::print("{}", app.help());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& done) {  // --help
    return app.exit(done);
  } catch (const CLI::ParseError& error) {
    std::string command = app.get_subcommands().empty() ? "" : app.get_subcommands().front()->get_name() + " ";
    if (app.got_subcommand(exec_cmd) && dynamic_cast<const CLI::ExtrasError*>(&error)) {
      // vcon exec web ls -l: "-l" looked like one of exec's options.
      fmt::print(stderr, "vcon exec: {}; put the command after --, as in: vcon exec {} -- ls -l\n", error.what(),
                 name.empty() ? "ZONE" : name);
      return 2;
    }
    fmt::print(stderr, "vcon: {} (see vcon {}--help)\n", error.what(), command);
    return 2;
  }
  paths.resolve_from_environment();
  using namespace vcon::cli;

  auto* chosen = app.get_subcommands().front();
  const std::string& cmd = chosen->get_name();
  if (chosen == help_cmd) {
    if (help_topic.empty()) {
      fmt::print("{}", app.help());
      return 0;
    }
    for (auto* sub : app.get_subcommands({})) {
      if (sub->get_name() == help_topic && !sub->get_group().empty()) {
        fmt::print("{}", sub->help("vcon"));
        return 0;
      }
    }
    fmt::print(stderr, "vcon help: no command '{}' (vcon help lists them)\n", help_topic);
    return 2;
  }
  // Attaching is for whoever the consoledb lets in: the monitor decides.
  // vcon serve may run as the user who owns the lines (the lock directory
  // may then be read-only to it: see uucp_lock.hpp).
  bool any_user = chosen == ls_cmd || chosen == log_cmd || chosen == console_cmd || chosen == proxy_cmd ||
                  chosen == who_cmd || chosen == ctl_cmd || chosen == serve_cmd || chosen == monitor_line_cmd;
  if (!any_user && !require_root(cmd)) return 1;
  if (chosen == check_cmd) return report(check_command(paths));
  if (chosen == boot_cmd || chosen == serve_cmd || chosen == fs_cmd) warn_about_consoledb(paths);
  if (chosen == create_cmd) return report(create_zone(paths, create));
  if (chosen == boot_cmd) {
    if (boot_console && boot_names.size() != 1) {
      fmt::print(stderr, "vcon boot: --console attaches to one zone; name one\n");
      return 2;
    }
    auto booted = boot_zones(paths, boot_names);
    if (!boot_console || !booted || booted.value() != 0) return report(booted);
    console.name = boot_names[0];
    console.replay = 1LL << 30;  // the whole ring: this boot from its first byte
    return report(console_command(paths, console));
  }
  if (chosen == halt_cmd) return report(halt_zone(paths, name, timeout, force));
  if (chosen == reboot_cmd) return report(reboot_zone(paths, name, timeout));
  if (chosen == destroy_cmd) return report(destroy_zone(paths, name, force, purge));
  if (chosen == ls_cmd) return report(list_zones_command(paths, as_json));
  if (chosen == ps_cmd) return report(ps_command(paths, name, as_json));
  if (chosen == exec_cmd) return report(exec_command(paths, name, command));
  if (chosen == log_cmd) return report(log_command(paths, log));
  if (chosen == console_cmd) {
    if (no_escape) console.escape.reset();
    if (!escape_char.empty()) {
      auto escape = vcon::parse_escape_character(escape_char);
      if (!escape) {
        fmt::print(stderr, "vcon console -e: {}\n", escape.error().message());
        return 2;
      }
      console.escape = escape.value();
    }
    return report(console_command(paths, console));
  }
  if (chosen == proxy_cmd) return report(proxy_command(paths, name));
  if (chosen == who_cmd) return report(who_command(paths, name, as_json));
  if (chosen == ctl_cmd) return report(ctl_command(paths, name, ctl_words));
  if (chosen == fs_cmd) return report(vcon::run_consolefs(paths, fs));
  if (chosen == serve_cmd) return report(vcon::run_serve(paths, serve));
  if (chosen == monitor_line_cmd) return report(vcon::run_monitor_line(paths, line_name));
  if (chosen == monitor_cmd) return report(vcon::run_handed_over_monitor(paths, name, handoff, reason));
  if (chosen == upgrade_cmd) return report(upgrade_command(paths, name, all_zones, binary));
  return 1;
}
