// ConsoleLog writes exactly what LogLineWriter describes, also when a chunk
// has more lines than one writev can take (IOV_MAX).
#include "console/console_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <climits>
#include <csignal>
#include <fstream>
#include <thread>

#include "base/files.hpp"
#include "temp_dir.hpp"

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

namespace vcon {

namespace {

std::string raw_of(const std::string& text) {
  LogLineReader reader;
  std::string raw;
  for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    raw += reader.raw(std::string_view(text).substr(start, nl + 1 - start));
  }
  return raw + reader.finish();
}

}  // namespace

TEST(ConsoleLog, RotatesPastTheLimitKeepingKeepFiles) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path, LogRotation{4096, 2});
  ASSERT_TRUE(log.ok()) << log.error().message();
  std::string bytes;
  for (int i = 0; i < 1000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    bytes += line;
    log->console(line);
  }
  // One chunk of many lines (as a busy console gives) is split between files too.
  std::string chunk;
  for (int i = 1000; i < 2000; ++i) chunk += "line " + std::to_string(i) + "\n";
  bytes += chunk;
  log->console(chunk);
  EXPECT_TRUE(path_exists(path + ".1"));
  EXPECT_TRUE(path_exists(path + ".2"));
  EXPECT_FALSE(path_exists(path + ".3"));
  std::string kept;
  for (const auto& name : {path + ".2", path + ".1", path}) {
    auto text = read_file(name);
    ASSERT_TRUE(text.ok());
    EXPECT_LE(text->size(), 4096u + 200) << name;  // the limit, plus the line that crossed it and the notes
    kept += *text;
  }
  EXPECT_NE(kept.find("* log rotated: earlier output in " + path + ".1"), std::string::npos);
  std::string raw = raw_of(kept);
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(raw, bytes.substr(bytes.size() - raw.size())) << "the newest output, whole and in order";
}

// A reader opening NAME.log mid-rotation (`vcon log`, `tail -F`) finds a
// log: the name never goes missing, and nothing is left beside the kept.
TEST(ConsoleLog, TheLogsNameIsThereThroughoutARotation) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path, LogRotation{4096, 2});
  ASSERT_TRUE(log.ok()) << log.error().message();
  std::atomic<bool> done{false};
  std::atomic<long> looks{0}, missing{0};
  std::thread reader([&] {
    while (!done || looks == 0) {
      struct stat info {};
      if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) ++missing;
      ++looks;
    }
  });
  while (looks == 0) std::this_thread::yield();
  std::string line = std::string(1000, 'x') + "\n";
  for (int i = 0; i < 8000; ++i) log->console(line);  // some 2,000 rotations
  done = true;
  reader.join();
  EXPECT_GT(looks, 0);
  EXPECT_EQ(missing, 0) << "of " << looks << " looks";
  EXPECT_EQ(log->failed_writes(), 0u);
  EXPECT_FALSE(path_exists(path + ".0")) << "the fresh file's waiting name is gone";
  EXPECT_FALSE(path_exists(path + ".3"));
}

// What a monitor that died mid-rotation, or anyone, left as NAME.log.0
// (where the fresh file is made) neither stops a rotation nor is written
// through nor becomes the log: a symlink, a FIFO or a file is replaced, a
// directory makes it rotate the old way.
TEST(ConsoleLog, RotatesPastWhateverIsLeftWhereTheFreshFileIsMade) {
  for (const char* left : {"symlink", "directory", "fifo", "file"}) {
    TempDir dir;
    std::string path = dir.path + "/web.log", fresh = path + ".0", victim = dir.path + "/victim";
    std::ofstream(victim) << "untouched";
    std::string kind = left;
    if (kind == "symlink") {
      ASSERT_EQ(::symlink(victim.c_str(), fresh.c_str()), 0);
    } else if (kind == "directory") {
      ASSERT_EQ(::mkdir(fresh.c_str(), 0700), 0);
    } else if (kind == "fifo") {
      ASSERT_EQ(::mkfifo(fresh.c_str(), 0600), 0);
    } else {
      std::ofstream(fresh) << "stale";
    }
    auto log = ConsoleLog::open(path, LogRotation{4096, 2});
    ASSERT_TRUE(log.ok()) << log.error().message();
    for (int i = 0; i < 30; ++i) log->console("line " + std::to_string(i) + " " + std::string(500, 'x') + "\n");
    EXPECT_EQ(log->failed_writes(), 0u) << left;
    EXPECT_TRUE(path_exists(path + ".1")) << left;
    EXPECT_TRUE(path_exists(path + ".2")) << left;
    for (const auto& kept : {path, path + ".1", path + ".2"}) {  // what was written there is in a file
      struct stat info {};
      ASSERT_EQ(::lstat(kept.c_str(), &info), 0) << left << " " << kept;
      ASSERT_TRUE(S_ISREG(info.st_mode)) << left << " " << kept;
    }
    auto current = read_file(path);
    ASSERT_TRUE(current.ok()) << left;
    EXPECT_NE(current->find("line 29"), std::string::npos) << left;
    EXPECT_EQ(current->find("stale"), std::string::npos) << left;
    auto kept = read_file(victim);
    ASSERT_TRUE(kept.ok()) << left;
    EXPECT_EQ(*kept, "untouched") << left;
    ::rmdir(fresh.c_str());
  }
}

// NAME.log moved or deleted with no SIGHUP after (logrotate without its
// postrotate): at the limit the log goes on in a new NAME.log, and the
// files beside it, whoever's they are, are left as they are.
TEST(ConsoleLog, AtTheLimitALogMovedOrDeletedMeanwhileIsReopenedNotRotated) {
  for (const char* how : {"moved", "deleted"}) {
    TempDir dir;
    std::string path = dir.path + "/web.log";
    auto log = ConsoleLog::open(path, LogRotation{4096, 2});
    ASSERT_TRUE(log.ok()) << log.error().message();
    for (int i = 0; !path_exists(path + ".2"); ++i) log->console("line " + std::to_string(i) + " " + std::string(500, 'x') + "\n");
    auto one = read_file(path + ".1"), two = read_file(path + ".2");
    ASSERT_TRUE(one.ok() && two.ok());
    if (std::string(how) == "moved") {
      ASSERT_EQ(::rename(path.c_str(), (path + "-moved").c_str()), 0);
    } else {
      ASSERT_EQ(::unlink(path.c_str()), 0);
    }
    for (int i = 0; i < 10; ++i) log->console("after " + std::to_string(i) + " " + std::string(500, 'x') + "\n");
    EXPECT_EQ(log->failed_writes(), 0u) << how;
    auto now_one = read_file(path + ".1"), now_two = read_file(path + ".2");
    ASSERT_TRUE(now_one.ok() && now_two.ok()) << how;
    EXPECT_EQ(*now_one, *one) << how;
    EXPECT_EQ(*now_two, *two) << how;
    auto current = read_file(path);
    ASSERT_TRUE(current.ok()) << how;
    EXPECT_NE(current->find("* log reopened: " + path + " had been moved or deleted"), std::string::npos) << how;
    EXPECT_NE(current->find("after 9"), std::string::npos) << how;
    EXPECT_FALSE(path_exists(path + ".3")) << how;
  }
}

// A rotation deletes the oldest log by unlinking it while it holds it, and
// gives that last reference to its release (a monitor's keeper closes it):
// freeing a file the flusher is writing back waits for the disk.
TEST(ConsoleLog, ARotationGivesTheDeletedOldestLogToItsRelease) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path, LogRotation{4096, 2});
  ASSERT_TRUE(log.ok()) << log.error().message();
  std::vector<UniqueFd> released;
  log->set_release([&](UniqueFd fd) { released.push_back(std::move(fd)); });
  std::string oldest;  // what NAME.log.2 held before the write that rotated it away
  for (int i = 0; released.empty() && i < 100; ++i) {
    if (auto text = read_file(path + ".2"); text.ok()) oldest = *text;
    log->console("line " + std::to_string(i) + " " + std::string(500, 'x') + "\n");
  }
  ASSERT_EQ(released.size(), 1u) << "the third rotation is the first with a NAME.log.2 to delete";
  struct stat info {};
  ASSERT_EQ(::fstat(released[0].get(), &info), 0);
  EXPECT_EQ(info.st_nlink, 0u) << "unlinked: closing the last reference frees it";
  auto text = read_file("/proc/self/fd/" + std::to_string(released[0].get()));
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_FALSE(oldest.empty());
  EXPECT_EQ(*text, oldest) << "the oldest log, as it was";
  EXPECT_TRUE(path_exists(path + ".2"));
  EXPECT_FALSE(path_exists(path + ".3"));
}

// A log deleted under it (logrotate's `rotate 0`): reopen gives its last
// reference to the release too; one moved away is still a file, closed here.
TEST(ConsoleLog, ReopenGivesADeletedLogToItsRelease) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message();
  std::vector<UniqueFd> released;
  log->set_release([&](UniqueFd fd) { released.push_back(std::move(fd)); });
  log->console("into the first file\n");
  ASSERT_EQ(::rename(path.c_str(), (path + ".moved").c_str()), 0);
  ASSERT_TRUE(log->reopen().ok());
  EXPECT_TRUE(released.empty()) << "moved, not deleted";
  log->console("into the second file\n");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_TRUE(log->reopen().ok());
  ASSERT_EQ(released.size(), 1u);
  struct stat info {};
  ASSERT_EQ(::fstat(released[0].get(), &info), 0);
  EXPECT_EQ(info.st_nlink, 0u);
  auto text = read_file("/proc/self/fd/" + std::to_string(released[0].get()));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(raw_of(*text), "into the second file\n");
}

TEST(ConsoleLog, ReopenFollowsAMovedFile) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path);
  ASSERT_TRUE(log.ok());
  log->console("before\n");
  ASSERT_EQ(::rename(path.c_str(), (path + ".old").c_str()), 0);
  log->console("still the old file\n");
  ASSERT_TRUE(log->reopen().ok());
  log->console("after\n");
  EXPECT_EQ(raw_of(read_file(path + ".old").value()), "before\nstill the old file\n");
  EXPECT_EQ(raw_of(read_file(path).value()), "after\n");
}

TEST(ConsoleLog, RecordsTheGapWhenWritingFailsAndResumes) {
  TempDir dir;
  std::string path = dir.path + "/web.log";
  auto log = ConsoleLog::open(path);
  ASSERT_TRUE(log.ok());
  log->console("kept 1\n");
  // A file size limit makes writes fail (EFBIG) as a full disk would.
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(read_file(path)->size());
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  log->console("lost 1\n");
  log->console("lost 2\n");
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  log->console("kept 2\n");
  EXPECT_EQ(log->lost_bytes(), 14u);
  auto text = read_file(path).value();
  EXPECT_NE(text.find("* log gap: 14 bytes of console output not logged since "), std::string::npos) << text;
  EXPECT_EQ(raw_of(text), "kept 1\nkept 2\n");
}

}  // namespace vcon
