// The JSON payloads of the monitor protocol, decoded in one place. Everything
// a monitor receives from a client goes through these strict parsers: a wrong
// type or value is an error for that client, never an exception in the
// monitor's loop. Pure logic, unit-tested; see docs/protocol.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace vcon::proto {

enum class Mode { Control, ReadWrite, ReadOnly };

// How a monitor's refusals for too many connections begin ("... for user
// bob (at most 32 per user)", "... to this console (1024); ..."): the file
// system server tells its callers EMFILE for them.
inline constexpr std::string_view kTooManyConnections = "too many connections";
// How an error refusing a ctl command past the user's rate begins (the
// file system answers it with EAGAIN: try again later).
inline constexpr std::string_view kTooManyCommands = "ctl: too many commands";

struct WindowSize {
  unsigned short rows = 24;
  unsigned short cols = 80;
};

// Whom a trusted client (root's file system server) attaches for: the user
// named in notices, who and the log instead of the socket's peer.
struct OnBehalf {
  std::string user;
  std::uint32_t uid = 0;
  std::int64_t pid = 0;
};

// The answer to `who` lists the clients that fit in this many bytes (and
// counts the rest); join and leave notices, and `~w`, name this many.
constexpr std::size_t kWhoBytes = 512 * 1024;
constexpr std::size_t kNamesShown = 16;
// `who` asked by an attached client (~w, which shows the writer and
// kNamesShown): a smaller answer, which a notice queued after it cannot
// push past the client's control limit.
constexpr std::size_t kSessionWhoBytes = 8 * 1024;

struct Hello {
  Mode mode = Mode::Control;
  bool force = false;
  bool watch_if_busy = false;  // rw: attach as a viewer, not refused, when another client writes
  std::uint64_t replay = 0;    // bytes of recent output wanted first
  // Or: from this offset of the console on (a client back after its
  // monitor was restarted, asking for what it has not seen).
  std::optional<std::uint64_t> from;
  std::optional<WindowSize> window;
  std::optional<OnBehalf> on_behalf;
};

// Take and Release are for attached clients (in-session commands): take
// the write lock by force, give it up.
// Direct, Resume, Print and Screen are for an attached client whose
// terminal the monitor writes to (direct output, docs/protocol.md).
enum class Op { Status, Who, Halt, Reboot, Ctl, Upgrade, Log, Take, Release, Direct, Resume, Print, Screen };

struct Request {
  Op op = Op::Status;
  unsigned grace = 10;  // halt and reboot: seconds before the zone is killed
  std::string command;  // ctl: one NAMEctl command line; upgrade: the new monitor's binary;
                        // direct: the attach's token; print: the bytes to show
  unsigned rows = 24;   // screen: the terminal's height
  std::optional<OnBehalf> on_behalf;
  bool audit = false;   // log: the audit log rather than the console log
  // direct: the monitor reads the terminal too (the client stops reading
  // it), seeing escapes with this escape character (none: escapes off).
  bool input = false;
  std::optional<char> escape;
};

// Checks the protocol version too.
Result<Hello> parse_hello(std::string_view payload);
Result<Request> parse_request(std::string_view payload);
Result<WindowSize> parse_window_size(std::string_view payload);

// For what a client shows from a monitor's messages: the field if present
// with the right type, else `fallback`. Never throws.
template <class T>
T field_or(const nlohmann::json& object, const char* key, T fallback) {
  if (!object.is_object()) return fallback;
  auto found = object.find(key);
  if (found == object.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return found->is_string() ? found->template get<std::string>() : fallback;
  } else if constexpr (std::is_same_v<T, bool>) {
    return found->is_boolean() ? found->template get<bool>() : fallback;
  } else {
    return found->is_number() ? found->template get<T>() : fallback;
  }
}

}  // namespace vcon::proto
