// Zone names: what is allowed, and the one message that says so.
#pragma once

#include <string_view>

#include "base/result.hpp"

namespace vcon {

// The two kinds of name vcon takes, and the one place each rule lives.
//
// A zone name is [a-z0-9][a-z0-9_.-]{0,62}: safe as a file name, a socket path
// component, a cgroup name and a hostname-like label.
Result<void> validate_zone_name(std::string_view name);
// A console name (a zone's console, or a serial line of the consoledb, as
// ttyS0) is [A-Za-z0-9][A-Za-z0-9_.-]{0,62}: every zone name is one. What
// `console`, `proxy`, `who`, `log`, `ctl` and the file system take.
Result<void> validate_console_name(std::string_view name);
// A zone's hostname: 1-64 characters (the kernel's limit), labels of
// letters, digits and '-' between dots (RFC 1123).
Result<void> validate_hostname(std::string_view name);

}  // namespace vcon
