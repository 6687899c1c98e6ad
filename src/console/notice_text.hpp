// How a client shows the monitor's out-of-band notices to a person, in
// consolefs' and conserver's words: "[+ops2, ops1]", "[forced to read-only by
// ops2 (PID 812)]". Pure logic, used by `vcon console`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace vcon {

// The text of a notice, without decoration; "" for notices not meant for
// people. Fields of the wrong type show as "?" (never an exception).
std::string notice_text(const nlohmann::json& notice);

// One of vcon's own lines as a client shows it: a "[...]" text gets this
// attach's token after its bracket ("[#3fa9c01b5d2e +ops2, ops1]"); on a terminal
// it stands on a line of its own in reverse video. The monitor renders
// the same for a client whose terminal it writes to (direct output).
std::string vcon_line(const std::string& text, const std::string& token, bool terminal);

}  // namespace vcon
