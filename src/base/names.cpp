// Zone name validation (pure).
#include "base/names.hpp"

#include <string>

namespace vcon {

namespace {
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

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
