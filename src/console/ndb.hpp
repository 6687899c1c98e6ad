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

  // The values of every `attr=` in the entry, in order.
  std::vector<std::string> all(std::string_view attr) const;
};

// Errors read "line N: reason".
Result<std::vector<NdbEntry>> parse_ndb(std::string_view text);

}  // namespace vcon
