// `vcon check`: what is wrong in vcon's files, for root and for scripts: the
// consoledb (each broken entry, left out until fixed), every zone's
// definition, and the host's id range registry. Exit status 1 if anything
// is. `boot`, `serve` and `fs` print the consoledb's problems as warnings.
#include <fmt/core.h>

#include "base/files.hpp"
#include "cli/commands.hpp"
#include "console/consoledb_file.hpp"
#include "zone/id_ranges.hpp"
#include "zone/zone_store.hpp"

namespace vcon::cli {

void warn_about_consoledb(const Paths& paths) {
  ConsoleDbFile consoledb(paths.consoledb, nullptr);
  for (const auto& problem : consoledb.current().problems) {
    fmt::print(stderr, "vcon: warning: consoledb {} {} (this entry is left out; see vcon check)\n", paths.consoledb,
               problem.message);
  }
}

Result<int> check_command(const Paths& paths) {
  int problems = 0;
  auto say = [&](const std::string& line) {
    fmt::print("{}\n", line);
    ++problems;
  };
  if (!path_exists(paths.consoledb)) {
    fmt::print("consoledb {}: none (every console is root's alone)\n", paths.consoledb);
  } else {
    ConsoleDbFile consoledb(paths.consoledb, nullptr);
    const ConsoleDb& db = consoledb.current();
    for (const auto& problem : db.problems) {
      say(fmt::format("consoledb {} {}{}", paths.consoledb, problem.message,
                      problem.console.empty() ? "" : " (console " + problem.console + " is root's until this is fixed)"));
    }
    if (db.problems.empty()) fmt::print("consoledb {}: {} consoles, {} groups, ok\n", paths.consoledb, db.consoles.size(),
                                        db.groups.size());
  }
  for (const auto& name : list_zones(paths)) {
    auto config = load_zone(paths, name);
    if (!config) say(config.error().message());
  }
  if (path_exists(paths.id_registry)) {
    auto text = read_file(paths.id_registry, 16 << 20);
    auto entries = text ? parse_id_registry(text.value(), paths.id_registry)
                        : Result<std::vector<IdRangeEntry>>(text.error());
    if (!entries) say(entries.error().message());
  }
  if (problems == 0) fmt::print("no problems\n");
  return problems ? 1 : 0;
}

}  // namespace vcon::cli
