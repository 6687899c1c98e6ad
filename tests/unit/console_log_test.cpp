// ConsoleLog writes exactly what LogLineWriter describes, also when a chunk
// has more lines than one writev can take (IOV_MAX).
#include "console/console_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>

#include "base/files.hpp"

namespace vcon {

TEST(ConsoleLog, WritesStampedLinesWithoutLosingAByte) {
  char path[] = "/tmp/vcon-console-log-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::string bytes;
  for (int i = 0; i < 3 * IOV_MAX; ++i) bytes += "line " + std::to_string(i) + "\r\n";
  bytes += "partial";
  {
    auto log = ConsoleLog::open(path);
    ASSERT_TRUE(log.ok()) << log.error().message();
    log->console(bytes);
    log->event("an event");
    log->console(" rest\n");
    EXPECT_EQ(log->failed_writes(), 0u);
  }
  auto written = read_file(path);
  ::unlink(path);
  ASSERT_TRUE(written.ok());
  LogLineReader reader;
  std::string raw;
  std::size_t lines = 0, start = 0;
  for (std::size_t nl; (nl = written->find('\n', start)) != std::string::npos; start = nl + 1, ++lines) {
    std::string_view line = std::string_view(*written).substr(start, nl + 1 - start);
    ASSERT_NE(LogLineReader::parse(line).kind, '?') << line;
    raw += reader.raw(line);
  }
  raw += reader.finish();
  EXPECT_EQ(raw, bytes + " rest\n");
  EXPECT_EQ(lines, 3u * IOV_MAX + 3) << "every line stamped, plus the event and the continued line";
}

}  // namespace vcon
