// JSON to text, the one way vcon does it. Strings in vcon's JSON come from
// zones (command lines), users and clients, none of which promise UTF-8:
// nlohmann's default dump() throws on invalid UTF-8, which would end a CLI
// command or a monitor. Invalid bytes become U+FFFD instead.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace vcon {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace vcon
