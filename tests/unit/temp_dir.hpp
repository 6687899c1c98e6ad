// A fresh directory under /tmp for one test, removed with what is in it.
#pragma once

#include <stdlib.h>

#include <string>

#include "base/files.hpp"

namespace vcon {

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/vcon-unit-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { static_cast<void>(remove_tree(path)); }
};

}  // namespace vcon
