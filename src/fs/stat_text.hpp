// The text of a NAMEstat file: a console's state, clients with their modes,
// bytes in and out, drops, speed and who holds the write lock, from the
// monitor's status and who answers. Pure logic, unit-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace vcon {

// `status` and `clients` as the monitor's "status" and "who" requests answer
// them; `status` null means no monitor runs (a halted zone, a line not served).
// `unlisted`: clients the who answer counted but did not list ("more").
std::string stat_text(const std::string& console, const std::string& kind, const nlohmann::json& status,
                      const nlohmann::json& clients, std::size_t unlisted = 0);

}  // namespace vcon
