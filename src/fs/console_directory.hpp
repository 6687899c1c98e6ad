// What the console file system's one directory holds: the consoledb's
// consoles and every defined zone without an entry, each as NAME, NAMEctl
// and NAMEstat, and the inode numbers of those files. Read afresh at every
// call, so the listing follows the consoledb and `vcon create`/`destroy`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/paths.hpp"
#include "console/consoledb_file.hpp"

namespace vcon {

enum class FileKind { Data = 0, Ctl = 1, Stat = 2 };
// "", "ctl", "stat"
const char* file_suffix(FileKind kind);

struct Console {
  std::string name;
  std::string zone;    // a zone's console, or
  std::string device;  // a serial line
  std::string socket;  // its monitor's
  std::string kind() const { return zone.empty() ? "serial " + device : "zone " + zone; }
};

class ConsoleDirectory {
 public:
  static constexpr std::uint64_t kRootInode = 1;  // FUSE_ROOT_ID

  ConsoleDirectory(const Paths& paths, ConsoleDbFile& consoledb) : paths_(paths), consoledb_(consoledb) {}

  // Sorted by name.
  std::vector<Console> consoles();
  std::optional<Console> find(std::string_view name);
  // A file name: NAME, NAMEctl or NAMEstat. A console's own name wins.
  std::optional<std::pair<Console, FileKind>> resolve(std::string_view file);
  // Three inode numbers per console name, given at first sight, never reused.
  std::uint64_t inode(const std::string& console, FileKind kind);
  // The file behind an inode number, if its console still exists.
  std::optional<std::pair<Console, FileKind>> from_inode(std::uint64_t inode);

 private:
  Console of_entry(const ConsoleEntry& entry) const;
  bool listed_as_zone(const ConsoleDb& db, const std::string& zone) const;

  const Paths& paths_;
  ConsoleDbFile& consoledb_;
  std::map<std::string, std::uint64_t> index_of_;
  std::vector<std::string> names_;
};

}  // namespace vcon
