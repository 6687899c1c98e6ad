// Process title via prctl(PR_SET_NAME) and PR_SET_MM_ARG_START/END.
#include "base/process_title.hpp"

#include <sys/prctl.h>

namespace vcon {

void set_process_title(const std::string& name, const std::vector<std::string>& argv) {
  ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
  // The kernel reads /proc/PID/cmdline from [arg_start, arg_end): point it at
  // a buffer that lives as long as the process.
  static std::string title;
  title.clear();
  for (const auto& arg : argv) {
    title += arg;
    title += '\0';
  }
  auto start = reinterpret_cast<unsigned long>(title.data());
  auto end = start + title.size();
  // The kernel checks start <= end against the current other bound, so the
  // order that works depends on where the old arguments were.
  if (::prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0) == 0) {
    ::prctl(PR_SET_MM, PR_SET_MM_ARG_END, end, 0, 0);
  } else if (::prctl(PR_SET_MM, PR_SET_MM_ARG_END, end, 0, 0) == 0) {
    ::prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0);
  }
}

}  // namespace vcon
