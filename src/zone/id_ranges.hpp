// Each zone's own range of host UIDs and GIDs (user namespaces): 65,536 ids,
// never shared by two zones on this host. Ranges are handed out from a pool
// and kept in a registry in the style of /etc/subuid, one "OWNER:BASE:COUNT"
// line per zone, OWNER being the zone's directory. The registry is one file
// for the whole host (not per state directory), so zones of different state
// directories (tests side by side) never share a range either. A zone's range
// is also recorded in its zone.toml. Used by `vcon create`, `boot`, `destroy`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace vcon {

struct IdRange {
  std::uint32_t base = 0;
  std::uint32_t count = 0;
  std::uint64_t end() const { return std::uint64_t{base} + count; }
  bool overlaps(const IdRange& other) const { return base < other.end() && other.base < end(); }
  bool contains(std::uint64_t id) const { return id >= base && id < end(); }
};

constexpr std::uint32_t kZoneIdCount = 65536;
// Above useradd's default SUB_UID_MAX (600,100,000) and systemd's dynamic
// users; 16,383 zones' worth, each range aligned to 65,536.
constexpr std::uint32_t kIdPoolStart = 0x40000000;
constexpr std::uint32_t kIdPoolEnd = 0x7fff0000;

struct IdRangeEntry {
  std::string owner;  // the zone's directory (STATE_DIR/zones/NAME)
  IdRange range;
};

// "OWNER:BASE:COUNT" lines; '#' comments and blank lines are skipped. A
// malformed line is an error naming the line, never silently dropped (it
// might hold a live zone's range).
Result<std::vector<IdRangeEntry>> parse_id_registry(const std::string& text, const std::string& source);
std::string serialize_id_registry(const std::vector<IdRangeEntry>& entries);
// /etc/subuid or /etc/subgid ("NAME:BASE:COUNT"); unreadable lines are skipped:
// they only add ranges to avoid.
std::vector<IdRange> parse_subid_file(const std::string& text);
// The lowest aligned range of `count` ids in [pool_start, pool_end) that
// overlaps none of `taken`.
std::optional<IdRange> choose_free_range(const std::vector<IdRange>& taken, std::uint32_t count,
                                         std::uint32_t pool_start = kIdPoolStart, std::uint32_t pool_end = kIdPoolEnd);

// /proc/PID/uid_map lines ("INSIDE OUTSIDE COUNT"): the id inside the
// namespace for a host id, if mapped.
struct IdMapping {
  std::uint32_t inside, outside, count;
};
std::vector<IdMapping> parse_id_map(const std::string& text);
std::optional<std::uint32_t> inside_id(const std::vector<IdMapping>& map, std::uint32_t host_id);

// The registry file itself, changed under an exclusive lock. `owner_exists`
// decides whether an entry is still claimed (the zone directory has a zone
// definition); entries of vanished zones are dropped when ranges are handed out.
class IdRegistry {
 public:
  explicit IdRegistry(std::string path) : path_(std::move(path)) {}
  // A fresh range for `owner`, recorded; also avoids /etc/subuid and /etc/subgid.
  Result<IdRange> allocate(const std::string& owner);
  // At boot: `range` must be `owner`'s (it is recorded again if the registry
  // lost it and nobody else took it).
  Result<void> claim(const std::string& owner, const IdRange& range);
  Result<void> release(const std::string& owner);
  const std::string& path() const { return path_; }

 private:
  template <class Change>
  Result<void> update(Change change);
  std::string path_;
};

}  // namespace vcon
