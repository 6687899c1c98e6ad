// Zone id ranges: the registry's format, choosing a free range, and the
// locked read-change-write of the registry file.
#include "zone/id_ranges.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/files.hpp"

namespace vcon {

namespace {

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// "A:B:C" with the first field possibly containing ':' (it is a path): the
// last two fields are numbers.
std::optional<IdRangeEntry> parse_line(std::string_view line) {
  auto last = line.rfind(':');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  auto middle = line.rfind(':', last - 1);
  if (middle == std::string_view::npos) return std::nullopt;
  auto base = parse_u32(line.substr(middle + 1, last - middle - 1));
  auto count = parse_u32(line.substr(last + 1));
  if (!base || !count || *count == 0 || std::uint64_t{*base} + *count > 0xffffffffULL) return std::nullopt;
  return IdRangeEntry{std::string(line.substr(0, middle)), {*base, *count}};
}

}  // namespace

Result<std::vector<IdRangeEntry>> parse_id_registry(const std::string& text, const std::string& source) {
  std::vector<IdRangeEntry> entries;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto entry = parse_line(line);
    if (!entry || entry->owner.empty()) {
      return make_error(source + " line " + std::to_string(number) + ": '" + line +
                        "' is not OWNER:BASE:COUNT; fix or remove the line");
    }
    entries.push_back(*entry);
  }
  return entries;
}

std::string serialize_id_registry(const std::vector<IdRangeEntry>& entries) {
  std::string text =
      "# vcon: each zone's range of host UIDs and GIDs (zone directory:first id:count).\n"
      "# Written by vcon create/destroy; a range is never given to two zones.\n";
  for (const auto& entry : entries) {
    text += entry.owner + ":" + std::to_string(entry.range.base) + ":" + std::to_string(entry.range.count) + "\n";
  }
  return text;
}

std::vector<IdRange> parse_subid_file(const std::string& text) {
  std::vector<IdRange> ranges;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (auto entry = parse_line(line)) ranges.push_back(entry->range);
  }
  return ranges;
}

std::optional<IdRange> choose_free_range(const std::vector<IdRange>& taken, std::uint32_t count,
                                         std::uint32_t pool_start, std::uint32_t pool_end) {
  for (std::uint64_t base = pool_start; base + count <= pool_end; base += kZoneIdCount) {
    IdRange candidate{static_cast<std::uint32_t>(base), count};
    auto clash = std::find_if(taken.begin(), taken.end(), [&](const IdRange& r) { return r.overlaps(candidate); });
    if (clash == taken.end()) return candidate;
  }
  return std::nullopt;
}

std::vector<IdMapping> parse_id_map(const std::string& text) {
  std::vector<IdMapping> map;
  std::istringstream lines(text);
  for (std::uint32_t inside, outside, count; lines >> inside >> outside >> count;) map.push_back({inside, outside, count});
  return map;
}

std::optional<std::uint32_t> inside_id(const std::vector<IdMapping>& map, std::uint32_t host_id) {
  for (const auto& m : map) {
    if (host_id >= m.outside && std::uint64_t{host_id} < std::uint64_t{m.outside} + m.count) {
      return m.inside + (host_id - m.outside);
    }
  }
  return std::nullopt;
}

template <class Change>
Result<void> IdRegistry::update(Change change) {
  VCON_TRY(make_directories(path_.substr(0, path_.rfind('/')), 0755));
  std::string lock_path = path_ + ".lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return errno_error("open " + lock_path);
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("lock " + lock_path);
  }
  std::string text;
  if (path_exists(path_)) {
    auto read = read_file(path_);
    if (!read) return read.error();
    text = std::move(read.value());
  }
  auto entries = parse_id_registry(text, path_);
  if (!entries) return entries.error();
  std::string before = serialize_id_registry(entries.value());
  VCON_TRY(change(entries.value()));
  std::string after = serialize_id_registry(entries.value());
  if (after == before) return {};  // a boot's claim, mostly: no write, no fsync
  return write_file_atomic(path_, after);
}

Result<IdRange> IdRegistry::allocate(const std::string& owner) {
  IdRange chosen;
  VCON_TRY(update([&](std::vector<IdRangeEntry>& entries) -> Result<void> {
    // A zone directory that is gone no longer holds its range.
    std::erase_if(entries, [&](const IdRangeEntry& e) { return e.owner == owner || !is_directory(e.owner); });
    std::vector<IdRange> taken;
    for (const auto& e : entries) taken.push_back(e.range);
    for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
      auto text = read_file(file);
      if (text) {
        auto ranges = parse_subid_file(text.value());
        taken.insert(taken.end(), ranges.begin(), ranges.end());
      }
    }
    auto range = choose_free_range(taken, kZoneIdCount);
    if (!range) return make_error("no free range of " + std::to_string(kZoneIdCount) + " ids left in " + path_);
    chosen = *range;
    entries.push_back({owner, chosen});
    return {};
  }));
  return chosen;
}

Result<void> IdRegistry::claim(const std::string& owner, const IdRange& range) {
  return update([&](std::vector<IdRangeEntry>& entries) -> Result<void> {
    for (const auto& e : entries) {
      if (e.owner == owner && e.range.base == range.base && e.range.count == range.count) return {};
      if (e.owner != owner && e.range.overlaps(range) && is_directory(e.owner)) {
        return make_error("its ids " + std::to_string(range.base) + "+" + std::to_string(range.count) +
                          " belong to " + e.owner + " (" + path_ + "); a zone definition copied from another zone? "
                          "remove id_base from its zone.toml and vcon gives it a range of its own at the next boot");
      }
    }
    std::erase_if(entries, [&](const IdRangeEntry& e) { return e.owner == owner || e.range.overlaps(range); });
    entries.push_back({owner, range});
    return {};
  });
}

Result<void> IdRegistry::release(const std::string& owner) {
  return update([&](std::vector<IdRangeEntry>& entries) -> Result<void> {
    std::erase_if(entries, [&](const IdRangeEntry& e) { return e.owner == owner; });
    return {};
  });
}

}  // namespace vcon
