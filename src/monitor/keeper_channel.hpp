// The messages between a zone's keeper and its monitor, over a SOCK_SEQPACKET
// pair: one message a packet, text plus any fds (SCM_RIGHTS). Pure encoding
// here (unit-tested); sending is send_fds()/receive_message().
//
//   monitor -> keeper
//     console INIT BOOTED_AT BOOTS   + [master, slave]   a boot: hold these
//     down                           the zone is down for good: exit after me
//     upgrade PATH                   when I exit, start PATH as the monitor
//     release                        + [fd]  close it for me: its last close
//                                    may wait for the disk (a rotated-away
//                                    log), and the console must not
//   keeper -> monitor
//     exited PID STATUS              a child of the keeper (init) ended
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>

namespace vcon::keeper {

struct Console {
  pid_t init_pid = -1;
  double booted_at = 0;
  int boots = 0;
};
struct Down {};
struct Upgrade {
  std::string binary;
};
struct Release {};
struct Exited {
  pid_t pid = -1;
  int status = 0;  // as waitpid gives it
};

using Message = std::variant<Console, Down, Upgrade, Release, Exited>;

std::string encode(const Message& message);
// Nothing for a message this version does not know (ignored, not fatal).
std::optional<Message> decode(const std::string& text);

// What a monitor started from a new binary inherits (its command line's
// --handoff): the fd numbers, and the zone it takes over.
struct Handoff {
  int keeper = -1, lock = -1, ring = -1, master = -1, slave = -1;
  pid_t init_pid = -1;
  double booted_at = 0;
  int boots = 0;
  std::optional<int> exited;  // init ended while no monitor ran (waitpid status)
};
std::string format_handoff(const Handoff& handoff);
std::optional<Handoff> parse_handoff(const std::string& text);

}  // namespace vcon::keeper
