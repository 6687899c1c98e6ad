// Zone name validation (pure).
#include "base/names.hpp"

#include <string>

namespace vcon {

namespace {
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

namespace {
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
}  // namespace

Result<void> validate_console_name(std::string_view name) {
  auto invalid = [&](std::string why) {
    return make_error("invalid console name '" + std::string(name) + "': " + why +
                      " (a zone's name, or a serial line's as the consoledb names it: 1-63 characters from "
                      "A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit)");
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 63) return invalid("it is longer than 63 characters");
  if (!is_alnum(name[0])) return invalid("it must start with a letter or digit");
  for (char c : name) {
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') {
      return invalid(std::string("character '") + c + "' is not allowed");
    }
  }
  return {};
}

Result<void> validate_hostname(std::string_view name) {
  auto invalid = [&](std::string why) {
    return make_error("invalid hostname '" + std::string(name) + "': " + why +
                      " (1-64 characters: letters, digits and '-' in labels between dots, as web-1.example)");
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 64) return invalid("it is longer than 64 characters");
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0) return invalid("a label between dots is empty");
      if (name[i - 1] == '-') return invalid("a label ends with '-'");
      label = 0;
      continue;
    }
    char c = name[i];
    if (!is_alnum(c) && c != '-') return invalid(std::string("character '") + c + "' is not allowed");
    if (label == 0 && c == '-') return invalid("a label starts with '-'");
    ++label;
  }
  return {};
}

Result<void> validate_zone_name(std::string_view name) {
  auto invalid = [&](std::string why) {
    return make_error("invalid zone name '" + std::string(name) + "': " + why +
                      " (use 1-63 characters from a-z, 0-9, '_', '.', '-', starting with a letter or digit)");
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 63) return invalid("it is longer than 63 characters");
  if (!is_lower_alnum(name[0])) return invalid("it must start with a-z or 0-9");
  for (char c : name) {
    if (!is_lower_alnum(c) && c != '_' && c != '.' && c != '-') {
      return invalid(std::string("character '") + c + "' is not allowed");
    }
  }
  return {};
}

}  // namespace vcon
