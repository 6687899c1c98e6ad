// libFuzzer: the consoledb (ndb syntax, then its meaning) and the access
// decision over whatever it parsed.
#include <cstdint>
#include <string_view>

#include "console/consoledb.hpp"
#include "console/ndb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)vcon::parse_ndb(input);
  auto db = vcon::parse_consoledb(input);
  vcon::Caller caller{1000, "alice", {"ops"}};
  for (const auto& entry : db.consoles) {
    (void)vcon::access_for(db, &entry, caller);
    (void)vcon::consoledb_problem_note(db, entry.name, entry.zone, "consoledb");
  }
  return 0;
}
