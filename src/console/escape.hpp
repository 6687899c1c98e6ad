// EscapeParser: the console client's escape sequences, recognised only at the
// start of a line as in zlogin -C and ssh: ESC . detach, ESC ? help, ESC #
// a serial break (ssh's ~B, conserver's ^Ecl0), ESC ESC one literal ESC; any other character after ESC is sent along with it.
// Pure logic, used by `vcon console`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vcon {

class EscapeParser {
 public:
  enum class Action { Detach, Help, Break };

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

}  // namespace vcon
