// ConsoleDirectory implementation.
#include "fs/console_directory.hpp"

#include <algorithm>

#include "base/files.hpp"
#include "base/names.hpp"
#include "zone/zone_store.hpp"

namespace vcon {

const char* file_suffix(FileKind kind) {
  switch (kind) {
    case FileKind::Data: return "";
    case FileKind::Ctl: return "ctl";
    case FileKind::Stat: return "stat";
  }
  return "";
}

Console ConsoleDirectory::of_entry(const ConsoleEntry& entry) const {
  return Console{entry.name, entry.zone, entry.device,
                 entry.zone.empty() ? paths_.line_socket(entry.name) : paths_.zone_socket(entry.zone)};
}

// A zone is listed under its own name unless an entry names its console
// or takes the name.
bool ConsoleDirectory::listed_as_zone(const ConsoleDb& db, const std::string& zone) const {
  return !db.for_zone(zone) && !db.find(zone);
}

std::vector<Console> ConsoleDirectory::consoles() {
  const ConsoleDb& db = consoledb_.current();
  std::vector<Console> list;
  for (const auto& entry : db.consoles) list.push_back(of_entry(entry));
  for (const auto& zone : list_zones(paths_)) {
    if (listed_as_zone(db, zone)) list.push_back(Console{zone, zone, "", paths_.zone_socket(zone)});
  }
  std::sort(list.begin(), list.end(), [](const Console& a, const Console& b) { return a.name < b.name; });
  return list;
}

// One lookup, not a listing: every stat and open asks this.
std::optional<Console> ConsoleDirectory::find(std::string_view name) {
  const ConsoleDb& db = consoledb_.current();
  if (const ConsoleEntry* entry = db.find(name)) return of_entry(*entry);
  std::string zone(name);
  if (validate_zone_name(zone) && path_exists(paths_.zone_config(zone)) && listed_as_zone(db, zone)) {
    return Console{zone, zone, "", paths_.zone_socket(zone)};
  }
  return std::nullopt;
}

std::optional<std::pair<Console, FileKind>> ConsoleDirectory::resolve(std::string_view file) {
  if (auto console = find(file)) return std::pair{*console, FileKind::Data};
  for (FileKind kind : {FileKind::Ctl, FileKind::Stat}) {
    std::string_view suffix = file_suffix(kind);
    if (file.size() > suffix.size() && file.substr(file.size() - suffix.size()) == suffix) {
      if (auto console = find(file.substr(0, file.size() - suffix.size()))) return std::pair{*console, kind};
    }
  }
  return std::nullopt;
}

std::uint64_t ConsoleDirectory::inode(const std::string& console, FileKind kind) {
  auto [found, added] = index_of_.try_emplace(console, names_.size());
  if (added) names_.push_back(console);
  return kRootInode + 1 + found->second * 3 + static_cast<std::uint64_t>(kind);
}

std::optional<std::pair<Console, FileKind>> ConsoleDirectory::from_inode(std::uint64_t inode) {
  if (inode <= kRootInode || inode - kRootInode - 1 >= names_.size() * 3) return std::nullopt;
  auto console = find(names_[(inode - kRootInode - 1) / 3]);
  if (!console) return std::nullopt;
  return std::pair{*console, static_cast<FileKind>((inode - kRootInode - 1) % 3)};
}

}  // namespace vcon
