// The consoledb: which consoles exist besides zones' own, and who may use
// them. Plan 9's consoledb, in ndb syntax (ndb.hpp):
//
//   console=web zone=web uid=alice gid=ops ro=bob rogid=audit logsize=16M logkeep=4
//           auditsize=4M auditkeep=8 auditinput=
//   console=ttyS0 dev=/dev/ttyS0 speed=115200 cronly= openondemand=
//   group=ops uid=carol uid=dave
//
// A console entry names a zone's console (zone=) or a serial line (dev=).
// uid=/gid= grant read-write, ro=/rogid= read-only; gid= and rogid= name a
// group= entry or else a Unix group. A zone with no entry is root-only, and
// root may always do everything. This file is the one ACL decision, used by
// monitors (for SO_PEERCRED callers) and the file system (for FUSE callers).
// Pure logic, unit-tested.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace vcon {

enum class Access { None, ReadOnly, ReadWrite };

const char* access_name(Access access);

struct ConsoleEntry {
  int line = 0;
  std::string name;
  std::string zone;    // a zone's console, or
  std::string device;  // a serial line
  std::vector<std::string> users, groups;        // read-write
  std::vector<std::string> ro_users, ro_groups;  // read-only
  unsigned speed = 9600;
  bool cronly = false;
  bool open_on_demand = false;
  std::uint64_t log_size = 0;  // rotate the log past this many bytes; 0: the default
  unsigned log_keep = 0;       // rotated logs kept; 0: the default
  // The audit log (events only, so console output cannot rotate them away):
  std::uint64_t audit_size = 0;
  unsigned audit_keep = 0;
  bool audit_input = false;  // also record what the writer types
};

// An entry left out of the consoledb: what is wrong, and where.
struct ConsoleDbProblem {
  int line = 0;
  std::string console;  // the console the entry names ("" if unknown, or a group=)
  std::string zone;     // its zone=, if it names one
  std::string message;  // "line N: reason"
};

struct ConsoleDb {
  std::vector<ConsoleEntry> consoles;
  std::map<std::string, std::vector<std::string>> groups;  // group= entries: members
  // Broken entries: each is left out, alone (the others stay in force).
  std::vector<ConsoleDbProblem> problems;

  const ConsoleEntry* find(std::string_view console) const;
  // The entry that names this zone's console, if any.
  const ConsoleEntry* for_zone(std::string_view zone) const;
  // Why console `name` (or zone `zone`'s console) lost its entry, if it did.
  const ConsoleDbProblem* problem_for(std::string_view name, std::string_view zone = {}) const;
  // Broken entries that name no console (a group=, or unreadable): any
  // console's access may hang on them.
  std::vector<const ConsoleDbProblem*> anonymous_problems() const;
};

// Who is asking: a Unix user and the names of the Unix groups it is in.
struct Caller {
  uid_t uid = 0;
  std::string user;
  std::vector<std::string> unix_groups;
};

// Never fails as a whole: a broken entry is left out and recorded in
// `problems` ("line N: reason"); the good ones stay in force. A console
// whose entry is broken is root's alone until it is fixed.
ConsoleDb parse_consoledb(std::string_view text);
// A user's view of why they may not use `console`, when the consoledb's
// own problems may be the reason ("" if none bear on it); `path` names it.
std::string consoledb_problem_note(const ConsoleDb& db, std::string_view console, std::string_view zone,
                                   const std::string& path);

// What `caller` may do with the console of `entry` (nullptr: no entry).
Access access_for(const ConsoleDb& db, const ConsoleEntry* entry, const Caller& caller);

// Sizes like 512, 64K, 16M, 1G (powers of 1024).
Result<std::uint64_t> parse_size(std::string_view text);

// The standard termios rates, 50 to 4000000.
bool is_standard_speed(unsigned speed);

}  // namespace vcon
