// The mark on vcon's own lines among a console's output: "#3fa9c01b5d2e", made at
// random for each attach (vcon console) or open (the file system) and shown
// when it begins. A zone can print anything, brackets and reverse video
// included, but not the token of a reader it never saw.
#pragma once

#include <string>

namespace vcon {

std::string attach_token();

}  // namespace vcon
