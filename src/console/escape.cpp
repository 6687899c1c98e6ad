// EscapeParser implementation.
#include "console/escape.hpp"

namespace vcon {

EscapeParser::Result EscapeParser::feed(std::string_view input) {
  Result result;
  for (std::size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (pending_) {
      pending_ = false;
      if (c == '.') {
        result.action = Action::Detach;
      } else if (c == '?') {
        result.action = Action::Help;
      } else if (c == '#') {
        result.action = Action::Break;
      }
      if (result.action) {
        result.rest = input.substr(i + 1);
        return result;  // still at a line start afterwards
      }
      if (c != *escape_) result.send += *escape_;
      result.send += c;
      at_line_start_ = c == '\r' || c == '\n';
      continue;
    }
    result.send += c;
    if (sequence_ == Sequence::Escape) {
      sequence_ = c == '[' ? Sequence::Csi : Sequence::None;
      continue;
    }
    if (sequence_ == Sequence::Csi) {
      if (c >= 0x40 && c <= 0x7e) sequence_ = Sequence::None;  // the final byte
      continue;
    }
    if (c == 0x1b) {
      sequence_ = Sequence::Escape;
      continue;
    }
    if (escape_ && at_line_start_ && c == *escape_) {
      result.send.pop_back();
      pending_ = true;
      continue;
    }
    // Enter in raw mode is '\r'; Ctrl-C and Ctrl-U also start a fresh line.
    at_line_start_ = c == '\r' || c == '\n' || c == 0x03 || c == 0x15;
  }
  return result;
}

}  // namespace vcon
