// EscapeParser: the console client's escape sequences, recognised only at the
// start of a line as in zlogin -C and ssh, and conserver's in-session
// commands after them: ESC . detach, ESC ? help, ESC # or ESC b a serial
// break (ssh's ~B, conserver's ^Ecl0), ESC w who is attached, ESC f take
// write access (force), ESC r go read-only, ESC p show the last screenful
// again, ESC ESC one literal ESC; any other character after ESC is sent
// along with it. Pure logic, used by `vcon console`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace vcon {

class EscapeParser {
 public:
  enum class Action { Detach, Help, Break, Who, Force, ReadOnly, Replay };

  // `escape`: the escape character; nothing disables escapes (-E).
  explicit EscapeParser(std::optional<char> escape) : escape_(escape) {}

  struct Result {
    std::string send;               // bytes for the console
    std::optional<Action> action;  // stop at the first action; the rest is in `rest`
    std::string_view rest;
  };
  Result feed(std::string_view input);

 private:
  std::optional<char> escape_;
  bool at_line_start_ = true;
  bool pending_ = false;  // saw the escape character at a line start
  // Inside an ANSI sequence (ESC ..., ESC [ ... final): a terminal's answer
  // to a query (ash asks for the cursor position at every prompt) or a
  // function key. Such bytes pass through and leave at_line_start_ alone.
  enum class Sequence { None, Escape, Csi } sequence_ = Sequence::None;
};

// An action's name, as the monitor's "escape" notice carries it (direct
// input: the monitor parses the client's keystrokes), and back.
const char* escape_action_name(EscapeParser::Action action);
std::optional<EscapeParser::Action> escape_action_named(std::string_view name);

// The escape character as users give it: one character, or caret notation
// as lxc-console and virsh take it ("^]" is 0x1d, "^?" DEL).
Result<char> parse_escape_character(std::string_view text);
// How to show it: "~", or "^]" for a control character.
std::string escape_display(char escape);

}  // namespace vcon
