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

}  // namespace vcon
