// What `ps` shows for a process that was forked rather than exec'd (the
// monitor): its name (comm) and its command line.
#pragma once

#include <string>
#include <vector>

namespace vcon {

// The name (first 15 bytes, what `ps -e` and `ps -C` show) is always set.
// The command line (`ps -f`) needs CAP_SYS_RESOURCE, which root normally has
// (some sandboxes withhold it); without it the fork keeps its parent's.
void set_process_title(const std::string& name, const std::vector<std::string>& argv);

}  // namespace vcon
