// Commands written to a console's NAMEctl file (or sent as a "ctl" request),
// one per write, as in Plan 9's consolefs:
//   resize ROWS COLS   the console's window size
//   break              a serial break (serial lines)
//   hangup             SIGHUP to the console's shell and foreground job (zones), or
//                      dropping DTR for a moment (serial lines)
//   bSPEED             the line speed, e.g. b115200 (serial lines)
// Pure logic, unit-tested; the monitor carries them out.
#pragma once

#include <string_view>

#include "base/result.hpp"

namespace vcon {

struct CtlCommand {
  enum class Kind { Resize, Break, Hangup, Speed } kind = Kind::Break;
  unsigned rows = 0, cols = 0;
  unsigned speed = 0;
};

// One command; surrounding white space (echo's newline) is ignored.
Result<CtlCommand> parse_ctl_command(std::string_view line);

}  // namespace vcon
