// EscapeParser implementation.
#include "console/escape.hpp"

#include <utility>

namespace vcon {

EscapeParser::Result EscapeParser::feed(std::string_view input) {
  Result result;
  for (std::size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (pending_) {
      pending_ = false;
      switch (c) {
        case '.': result.action = Action::Detach; break;
        case '?': result.action = Action::Help; break;
        case '#':
        case 'b': result.action = Action::Break; break;
        case 'w': result.action = Action::Who; break;
        case 'f': result.action = Action::Force; break;
        case 'r': result.action = Action::ReadOnly; break;
        case 'p': result.action = Action::Replay; break;
        default: break;
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

Result<char> parse_escape_character(std::string_view text) {
  if (text.size() == 1) return text[0];
  if (text.size() == 2 && text[0] == '^') {
    char c = text[1];
    if (c == '?') return '\x7f';
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c >= '@' && c <= '_') return static_cast<char>(c - '@');
  }
  return make_error("the escape must be one character, or ^X for a control character (as ^] is), not '" +
                    std::string(text) + "'");
}

std::string escape_display(char escape) {
  auto byte = static_cast<unsigned char>(escape);
  if (byte == 0x7f) return "^?";
  if (byte < 0x20) return std::string("^") + static_cast<char>(byte + '@');
  return std::string(1, escape);
}

namespace {
constexpr std::pair<EscapeParser::Action, const char*> kActions[] = {
    {EscapeParser::Action::Detach, "detach"}, {EscapeParser::Action::Help, "help"},
    {EscapeParser::Action::Break, "break"},   {EscapeParser::Action::Who, "who"},
    {EscapeParser::Action::Force, "force"},   {EscapeParser::Action::ReadOnly, "read-only"},
    {EscapeParser::Action::Replay, "replay"},
};
}  // namespace

const char* escape_action_name(EscapeParser::Action action) {
  for (const auto& [known, name] : kActions) {
    if (known == action) return name;
  }
  return "help";
}

std::optional<EscapeParser::Action> escape_action_named(std::string_view name) {
  for (const auto& [action, known] : kActions) {
    if (name == known) return action;
  }
  return std::nullopt;
}

}  // namespace vcon
