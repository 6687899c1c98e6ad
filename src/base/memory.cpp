// give_back_memory(): malloc_trim and the unused part of the stack.
#include "base/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace vcon {

namespace {

constexpr std::uintptr_t kStackMargin = 8 * 1024;  // kept below the caller, for the loop's next handlers

// The lowest address of the main thread's stack mapping, or 0.
std::uintptr_t stack_bottom() {
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return 0;
  std::uintptr_t bottom = 0;
  char line[512];
  while (std::fgets(line, sizeof line, maps)) {
    if (!std::strstr(line, "[stack]")) continue;
    unsigned long low = 0, high = 0;
    if (std::sscanf(line, "%lx-%lx", &low, &high) == 2) bottom = low;
    break;
  }
  std::fclose(maps);
  return bottom;
}

}  // namespace

void give_back_memory() {
  std::uintptr_t bottom = stack_bottom();
  ::malloc_trim(0);
  if (bottom == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  volatile char here = 0;
  auto frame = reinterpret_cast<std::uintptr_t>(&here);
  if (frame < bottom + kStackMargin + page) return;
  std::uintptr_t end = (frame - kStackMargin) & ~(page - 1);
  ::madvise(reinterpret_cast<void*>(bottom), end - bottom, MADV_DONTNEED);
}

}  // namespace vcon
