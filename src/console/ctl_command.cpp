// NAMEctl command parsing.
#include "console/ctl_command.hpp"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <vector>

#include "console/consoledb.hpp"

namespace vcon {

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool parse_unsigned(std::string_view text, unsigned& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

constexpr const char* kUsage = "commands: resize ROWS COLS, break, hangup, bSPEED";

}  // namespace

Result<CtlCommand> parse_ctl_command(std::string_view line) {
  auto w = words(line);
  if (w.empty()) return make_error(std::string("empty command (") + kUsage + ")");
  if (w.size() > 1 && w[0] != "resize") {
    return make_error(fmt::format("'{}' takes no arguments, one command per write ({})", w[0], kUsage));
  }
  CtlCommand command;
  if (w[0] == "resize") {
    command.kind = CtlCommand::Kind::Resize;
    if (w.size() != 3 || !parse_unsigned(w[1], command.rows) || !parse_unsigned(w[2], command.cols) ||
        command.rows < 1 || command.rows > 65535 || command.cols < 1 || command.cols > 65535) {
      return make_error("usage: resize ROWS COLS, each from 1 to 65535");
    }
    return command;
  }
  if (w[0] == "break") {
    command.kind = CtlCommand::Kind::Break;
    return command;
  }
  if (w[0] == "hangup") {
    command.kind = CtlCommand::Kind::Hangup;
    return command;
  }
  if (w[0].size() > 1 && w[0][0] == 'b' && parse_unsigned(w[0].substr(1), command.speed)) {
    if (!is_standard_speed(command.speed)) {
      return make_error(fmt::format("{} is not a standard line speed (e.g. b9600, b115200)", command.speed));
    }
    command.kind = CtlCommand::Kind::Speed;
    return command;
  }
  return make_error(fmt::format("unknown command '{}' ({})", w[0], kUsage));
}

}  // namespace vcon
