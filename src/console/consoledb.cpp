// consoledb: meaning and access decisions.
#include "console/consoledb.hpp"

#include <cstring>
#include <optional>

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "base/names.hpp"
#include "console/ndb.hpp"

namespace vcon {

namespace {

constexpr unsigned kSpeeds[] = {50,     75,     110,    134,    150,    200,     300,     600,     1200,
                                1800,   2400,   4800,   9600,   19200,  38400,   57600,   115200,  230400,
                                460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000,
                                3000000, 3500000, 4000000};

Error entry_error(int line, const std::string& reason) { return make_error(fmt::format("line {}: {}", line, reason)); }

Result<unsigned> parse_number(std::string_view text, const char* what, int line) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return entry_error(line, fmt::format("{}=\"{}\" is not a number", what, text));
  }
  return value;
}

Result<bool> parse_flag(std::string_view text, const char* what, int line) {
  if (text.empty() || text == "1" || text == "yes" || text == "true") return true;
  if (text == "0" || text == "no" || text == "false") return false;
  return entry_error(line, fmt::format("{}=\"{}\": use {}= (on), or {}=no", what, text, what, what));
}

// Console names are file names in the file system and socket path parts.
Result<void> valid_console_name(std::string_view name, int line) {
  auto valid = validate_console_name(name);
  if (!valid) return entry_error(line, "console=: " + valid.error().message());
  return {};
}

Result<ConsoleEntry> parse_console(const NdbEntry& entry) {
  ConsoleEntry console;
  console.line = entry.line;
  bool first = true;
  for (const auto& pair : entry.pairs) {
    const auto& [attr, value, line] = pair;
    auto need_value = [&pair]() -> Result<void> {
      const auto& [attr, value, line] = pair;  // (a lambda may not capture structured bindings before C++20's clang 16)
      if (value.empty()) return entry_error(line, attr + "= needs a value");
      return {};
    };
    if (first) {
      console.name = value;
      VCON_TRY(valid_console_name(value, line));
      first = false;
    } else if (attr == "zone") {
      auto valid = validate_zone_name(value);
      if (!valid) return entry_error(line, "zone=: " + valid.error().message());
      console.zone = value;
    } else if (attr == "dev") {
      if (value.empty() || value[0] != '/') return entry_error(line, "dev= needs an absolute device path");
      console.device = value;
    } else if (attr == "uid" || attr == "gid" || attr == "ro" || attr == "rogid") {
      VCON_TRY(need_value());
      auto& list = attr == "uid" ? console.users : attr == "gid" ? console.groups : attr == "ro" ? console.ro_users
                                                                                                   : console.ro_groups;
      list.push_back(value);
    } else if (attr == "speed") {
      auto speed = parse_number(value, "speed", line);
      if (!speed) return speed.error();
      if (!is_standard_speed(*speed)) {
        return entry_error(line, fmt::format("speed={} is not a standard line speed (e.g. 9600, 115200)", *speed));
      }
      console.speed = *speed;
    } else if (attr == "cronly" || attr == "openondemand" || attr == "auditinput") {
      auto flag = parse_flag(value, attr.c_str(), line);
      if (!flag) return flag.error();
      (attr == "cronly" ? console.cronly : attr == "openondemand" ? console.open_on_demand : console.audit_input) = *flag;
    } else if (attr == "logsize" || attr == "auditsize") {
      auto size = parse_size(value);
      if (!size || *size < 4096) {
        return entry_error(line, fmt::format("{}=\"{}\": use a size of at least 4K, e.g. 16M", attr, value));
      }
      (attr == "logsize" ? console.log_size : console.audit_size) = *size;
    } else if (attr == "logkeep" || attr == "auditkeep") {
      auto keep = parse_number(value, attr.c_str(), line);
      if (!keep) return keep.error();
      if (*keep < 1 || *keep > 1000) return entry_error(line, attr + "= must be 1 to 1000");
      (attr == "logkeep" ? console.log_keep : console.audit_keep) = *keep;
    } else {
      return entry_error(line,
                         fmt::format("unknown attribute {}= in console {} (known: zone dev uid gid ro rogid speed cronly "
                                     "openondemand logsize logkeep auditsize auditkeep auditinput)",
                                     attr, console.name));
    }
  }
  if (console.zone.empty() == console.device.empty()) {
    return entry_error(entry.line, fmt::format("console {} needs exactly one of zone= and dev=", console.name));
  }
  return console;
}

bool names_user(const std::string& name, const Caller& caller) {
  return name == caller.user || name == std::to_string(caller.uid);
}

bool in_any_group(const ConsoleDb& db, const std::vector<std::string>& groups, const Caller& caller) {
  for (const auto& group : groups) {
    auto defined = db.groups.find(group);
    if (defined != db.groups.end()) {
      for (const auto& member : defined->second) {
        if (names_user(member, caller)) return true;
      }
    } else if (std::find(caller.unix_groups.begin(), caller.unix_groups.end(), group) != caller.unix_groups.end()) {
      return true;
    }
  }
  return false;
}

bool in_any_user(const std::vector<std::string>& users, const Caller& caller) {
  return std::any_of(users.begin(), users.end(), [&](const std::string& user) { return names_user(user, caller); });
}

}  // namespace

const char* access_name(Access access) {
  switch (access) {
    case Access::None: return "none";
    case Access::ReadOnly: return "read-only";
    case Access::ReadWrite: return "read-write";
  }
  return "?";
}

const ConsoleEntry* ConsoleDb::find(std::string_view console) const {
  for (const auto& entry : consoles) {
    if (entry.name == console) return &entry;
  }
  return nullptr;
}

const ConsoleEntry* ConsoleDb::for_zone(std::string_view zone) const {
  for (const auto& entry : consoles) {
    if (entry.zone == zone) return &entry;
  }
  return nullptr;
}

namespace {

// What a broken entry names, as far as can be told.
ConsoleDbProblem problem_of(const NdbEntry& entry, std::string message) {
  ConsoleDbProblem problem{entry.line, {}, {}, std::move(message)};
  if (!entry.pairs.empty() && entry.pairs.front().attr == "console") problem.console = entry.pairs.front().value;
  for (const auto& pair : entry.pairs) {
    if (pair.attr == "zone") problem.zone = pair.value;
  }
  return problem;
}

}  // namespace

ConsoleDb parse_consoledb(std::string_view text) {
  ConsoleDb db;
  for (const auto& entry : parse_ndb(text)) {
    if (!entry.error.empty()) {
      db.problems.push_back(problem_of(entry, entry.error));
      continue;
    }
    const std::string& kind = entry.pairs.front().attr;
    if (kind == "console") {
      auto console = parse_console(entry);
      if (!console) {
        db.problems.push_back(problem_of(entry, console.error().message()));
        continue;
      }
      if (const ConsoleEntry* other = db.find(console->name)) {
        db.problems.push_back(problem_of(
            entry, fmt::format("line {}: console {} is already defined on line {}", entry.line, console->name, other->line)));
        continue;
      }
      if (!console->zone.empty() && db.for_zone(console->zone)) {
        db.problems.push_back(problem_of(entry, fmt::format("line {}: zone {} already has a console entry, on line {}",
                                                            entry.line, console->zone, db.for_zone(console->zone)->line)));
        continue;
      }
      db.consoles.push_back(std::move(console.value()));
    } else if (kind == "group") {
      const std::string& name = entry.pairs.front().value;
      auto member_error = [&]() -> std::optional<std::string> {
        if (name.empty()) return fmt::format("line {}: group= needs a name", entry.line);
        if (db.groups.count(name)) return fmt::format("line {}: group {} is defined twice", entry.line, name);
        for (std::size_t i = 1; i < entry.pairs.size(); ++i) {
          const NdbPair& pair = entry.pairs[i];
          if (pair.attr != "uid" || pair.value.empty()) {
            return fmt::format("line {}: group {}: only uid=USER members are allowed, not {}=", pair.line, name, pair.attr);
          }
        }
        return std::nullopt;
      }();
      if (member_error) {
        db.problems.push_back(problem_of(entry, *member_error));
        continue;
      }
      std::vector<std::string> members;
      for (std::size_t i = 1; i < entry.pairs.size(); ++i) members.push_back(entry.pairs[i].value);
      db.groups[name] = std::move(members);
    } else {
      db.problems.push_back(problem_of(
          entry, fmt::format("line {}: an entry starts with {}=; expected console= or group=", entry.line, kind)));
    }
  }
  // NAMEctl and NAMEstat are the file system's: no console may be called so.
  std::erase_if(db.consoles, [&](const ConsoleEntry& console) {
    for (const char* suffix : {"ctl", "stat"}) {
      std::string base = console.name.size() > std::strlen(suffix) &&
                                 console.name.compare(console.name.size() - std::strlen(suffix), std::string::npos, suffix) == 0
                             ? console.name.substr(0, console.name.size() - std::strlen(suffix))
                             : std::string();
      if (!base.empty() && db.find(base)) {
        db.problems.push_back(ConsoleDbProblem{console.line, console.name, console.zone,
                                               fmt::format("line {}: console {} would clash with the {} file of console {}",
                                                           console.line, console.name, suffix, base)});
        return true;
      }
    }
    return false;
  });
  return db;
}

const ConsoleDbProblem* ConsoleDb::problem_for(std::string_view name, std::string_view zone) const {
  for (const auto& problem : problems) {
    if ((!name.empty() && problem.console == name) || (!zone.empty() && problem.zone == zone)) return &problem;
  }
  return nullptr;
}

std::vector<const ConsoleDbProblem*> ConsoleDb::anonymous_problems() const {
  std::vector<const ConsoleDbProblem*> found;
  for (const auto& problem : problems) {
    if (problem.console.empty()) found.push_back(&problem);
  }
  return found;
}

std::string consoledb_problem_note(const ConsoleDb& db, std::string_view console, std::string_view zone,
                                   const std::string& path) {
  if (const ConsoleDbProblem* own = db.problem_for(console, zone)) {
    return fmt::format("the consoledb {} has this console's entry broken ({}), so it is left out until root fixes it "
                       "(vcon check)",
                       path, own->message);
  }
  auto others = db.anonymous_problems();
  if (others.empty()) return {};
  return fmt::format("the consoledb {} also has a broken entry that names no console ({}{}); if it was meant to "
                     "grant access, root must fix it (vcon check)",
                     path, others.front()->message, others.size() > 1 ? ", and more" : "");
}

Access access_for(const ConsoleDb& db, const ConsoleEntry* entry, const Caller& caller) {
  if (caller.uid == 0) return Access::ReadWrite;
  if (!entry) return Access::None;
  if (in_any_user(entry->users, caller) || in_any_group(db, entry->groups, caller)) return Access::ReadWrite;
  if (in_any_user(entry->ro_users, caller) || in_any_group(db, entry->ro_groups, caller)) return Access::ReadOnly;
  return Access::None;
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc()) return make_error(fmt::format("\"{}\" is not a size", text));
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  int shift = unit.empty() ? 0 : unit == "K" || unit == "k" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
  if (shift < 0) return make_error(fmt::format("\"{}\": unknown unit (use K, M or G)", text));
  if (value > (UINT64_MAX >> shift)) return make_error(fmt::format("\"{}\" is too large", text));
  return value << shift;
}

bool is_standard_speed(unsigned speed) {
  return std::find(std::begin(kSpeeds), std::end(kSpeeds), speed) != std::end(kSpeeds);
}

}  // namespace vcon
