// The console log's line format, both ways. Pure logic, used by the monitor
// (writing) and `vcon log` (reading).
//
// Every log line starts with a UTC timestamp and a one-character kind:
//   2026-11-23T06:41:32.123456Z | console bytes as the zone wrote them
//   2026-11-23T06:41:32.200000Z * vcon event (zone booted, halted, ...)
//   2026-11-23T06:41:32.250000Z ~ vcon event that cut a console line
//   2026-11-23T06:41:32.300000Z + console line continued after an event
// Only the monitor writes '*' and '~' lines, and console bytes always follow
// '|' or '+', so nothing the zone prints can pass for an event. When an
// event interrupts a partial console line, vcon ends that line with a
// newline of its own, writes the event as '~' (so the reader knows that
// newline was vcon's, not the zone's: a '*' there could not tell), and the
// rest of the line continues on a '+' line. `vcon log --raw` gives back
// exactly the console bytes.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace vcon {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-11-23T06:41:32.123456Z"
std::string format_timestamp(SystemTime when);
constexpr std::size_t kTimestampLength = 27;

// Control characters made visible ("^[" for ESC, "^M" for CR), tab and
// newline kept: what `vcon log` shows on a terminal, so that nothing the zone
// printed can drive the operator's terminal (queries, title changes).
std::string make_visible(std::string_view text);

class LogLineWriter {
 public:
  // Console bytes, stamped at each line start, as pieces to write in order:
  // the writer's stamp and separators, and slices of `bytes` itself (no
  // copy). Valid until the next call and while `bytes` lives.
  // `line_starts`, if given, gets the index in `pieces` of each stamp: where
  // a log line begins (a log may be rotated there).
  void console(std::string_view bytes, SystemTime now, std::vector<std::string_view>& pieces,
               std::vector<std::size_t>* line_starts = nullptr);
  // The same, joined.
  std::string console(std::string_view bytes, SystemTime now);
  // One event line; ends a partial console line first.
  std::string event(std::string_view text, SystemTime now);
  // An event line alone, for a place known to be a line start.
  static std::string event_line(std::string_view text, SystemTime now, char kind = '*');
  // The log this writer appends to ends inside a console line (a monitor
  // died there): the next event ends it first, as it would its own.
  void resume_mid_line() { at_line_start_ = false; }

 private:
  bool at_line_start_ = true;
  bool continued_ = false;  // the next console line continues one cut by an event
  std::string stamp_;       // of the last console() call; pieces point into it
};

// Turns log lines back into what the console carried. Feed whole lines (with
// their '\n'), in order.
class LogLineReader {
 public:
  struct Line {
    std::string_view timestamp;
    char kind = '?';  // '|', '+', '*', '~', or '?' for a line vcon did not write
    std::string_view text;
  };
  static Line parse(std::string_view line);

  // The raw console bytes this line contributes (events give nothing).
  // Also for the beginning of a line not yet finished (no '\n').
  std::string raw(std::string_view line);
  // The rest of a line whose beginning went through raw() already.
  std::string raw_continued(std::string_view rest);
  // At the end of the input (or while waiting for more): the newline still
  // held back, if any. The writer emits an added newline together with the
  // event line that caused it, so flushing at end of input is safe.
  std::string finish();

 private:
  bool held_newline_ = false;  // a console line's '\n', not yet known to be real
};

}  // namespace vcon
