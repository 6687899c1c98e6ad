// One line, stamped, on stderr: how the long-running processes (monitors,
// the file system server) say what happened. Their stderr is a log file.
#pragma once

#include <string>

namespace vcon {

void report(const std::string& line);

}  // namespace vcon
