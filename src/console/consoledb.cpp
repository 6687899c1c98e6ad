// consoledb: meaning and access decisions.
#include "console/consoledb.hpp"

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
Result<void> validate_console_name(std::string_view name, int line) {
  bool ok = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok) return entry_error(line, fmt::format("console=\"{}\": a console name is [A-Za-z0-9][A-Za-z0-9_.-]{{0,62}}", name));
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
      VCON_TRY(validate_console_name(value, line));
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

Result<ConsoleDb> parse_consoledb(std::string_view text) {
  auto entries = parse_ndb(text);
  if (!entries) return entries.error();
  ConsoleDb db;
  for (const auto& entry : *entries) {
    const std::string& kind = entry.pairs.front().attr;
    if (kind == "console") {
      auto console = parse_console(entry);
      if (!console) return console.error();
      if (const ConsoleEntry* other = db.find(console->name)) {
        return entry_error(entry.line, fmt::format("console {} is already defined on line {}", console->name, other->line));
      }
      if (!console->zone.empty() && db.for_zone(console->zone)) {
        return entry_error(entry.line, fmt::format("zone {} already has a console entry, on line {}", console->zone,
                                                   db.for_zone(console->zone)->line));
      }
      db.consoles.push_back(std::move(console.value()));
    } else if (kind == "group") {
      const std::string& name = entry.pairs.front().value;
      if (name.empty()) return entry_error(entry.line, "group= needs a name");
      if (db.groups.count(name)) return entry_error(entry.line, fmt::format("group {} is defined twice", name));
      std::vector<std::string> members;
      for (std::size_t i = 1; i < entry.pairs.size(); ++i) {
        const auto& [attr, value, line] = entry.pairs[i];
        if (attr != "uid" || value.empty()) {
          return entry_error(line, fmt::format("group {}: only uid=USER members are allowed, not {}=", name, attr));
        }
        members.push_back(value);
      }
      db.groups[name] = std::move(members);
    } else {
      return entry_error(entry.line, fmt::format("an entry starts with {}=; expected console= or group=", kind));
    }
  }
  // NAMEctl and NAMEstat are the file system's: no console may be called so.
  for (const auto& console : db.consoles) {
    for (const char* suffix : {"ctl", "stat"}) {
      if (db.find(console.name + suffix)) {
        return entry_error(db.find(console.name + suffix)->line,
                           fmt::format("console {}{} would clash with the {} file of console {}", console.name, suffix,
                                       suffix, console.name));
      }
    }
  }
  return db;
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
