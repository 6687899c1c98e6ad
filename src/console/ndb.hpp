// Plan 9 ndb(6) syntax, as the consoledb uses it: an entry starts at column 0,
// lines that begin with white space continue it, each entry is a list of
// `attr=value` pairs (the value may be empty or "double quoted"; a bare
// `attr` has an empty value), and `#` starts a comment outside quotes.
// Pure logic, unit-tested; consoledb.hpp gives the entries their meaning.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace vcon {

struct NdbPair {
  std::string attr;
  std::string value;
  int line = 0;  // where this pair is: an entry may span lines
};

struct NdbEntry {
  int line = 0;  // where the entry starts, 1-based
  std::vector<NdbPair> pairs;
  // "line N: reason" if a line of the entry is malformed: the entry is
  // broken, the others are not.
  std::string error;

  // The values of every `attr=` in the entry, in order.
  std::vector<std::string> all(std::string_view attr) const;
};

// Never fails as a whole: a malformed line breaks its own entry only (an
// indented line before any entry makes an entry of its own, broken).
std::vector<NdbEntry> parse_ndb(std::string_view text);

}  // namespace vcon
