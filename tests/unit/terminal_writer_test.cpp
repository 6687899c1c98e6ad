// TerminalWriter on real ptys: order, drops of the oldest with a line in
// their place, the bookmark, and what reopen_client_terminal() refuses.
#include <fcntl.h>
#include <pty.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>

#include "monitor/terminal_writer.hpp"

namespace vcon {
namespace {

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    EXPECT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    termios raw{};
    ::tcgetattr(slave, &raw);
    ::cfmakeraw(&raw);
    ::tcsetattr(slave, TCSANOW, &raw);
    ::fcntl(master, F_SETFL, O_NONBLOCK);
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
  std::string drain() {
    std::string out;
    char buffer[65536];
    for (int idle = 0; idle < 20;) {
      ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
        idle = 0;
      } else {
        ++idle;
        ::usleep(1000);
      }
    }
    return out;
  }
};

proto::Chunk chunk(std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); }

std::string dropped_line(std::uint64_t bytes) { return "[dropped " + std::to_string(bytes) + "]"; }

// A writer on a fresh pty's slave, as the monitor makes one for a client
// (`limit`: the bytes of output it queues before dropping the oldest).
struct Attached {
  Pty pty;
  asio::io_context io;
  std::unique_ptr<TerminalWriter> writer;
  explicit Attached(std::size_t limit) {
    auto tty = reopen_client_terminal(pty.slave);
    if (!tty) {
      ADD_FAILURE() << tty.error().message();
      return;
    }
    writer = std::make_unique<TerminalWriter>(io.get_executor(), std::move(tty.value()), limit, dropped_line);
  }
  std::tuple<Pty&, asio::io_context&, TerminalWriter&> parts() { return {pty, io, *writer}; }
};

TEST(TerminalWriter, WritesOutputAndLinesInOrder) {
  Attached attached(1 << 20);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  writer.pause();
  writer.data(chunk("abc"), 3);
  writer.text("[line]");
  writer.data(chunk("def"), 6);
  EXPECT_EQ(writer.done_offset(), 0u) << "held while paused";
  writer.resume();
  io.poll();
  EXPECT_EQ(pty.drain(), "abc[line]def");
  EXPECT_EQ(writer.done_offset(), 6u);
}

TEST(TerminalWriter, ATerminalNobodyReadsLosesTheOldestAndIsToldWhere) {
  Attached attached(64 * 1024);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  auto bookmark = writer.make_bookmark();
  ASSERT_TRUE(bookmark);
  auto* page = static_cast<const std::uint64_t*>(::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, bookmark->get(), 0));
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_NE(::ftruncate(bookmark->get(), 0), 0) << "sealed: the client cannot shrink it";
  // Fill the terminal until it takes nothing more, then keep writing.
  std::uint64_t end = 0;
  std::string filler(4096, 'f');
  while (writer.dropped_bytes() == 0) {
    end += filler.size();
    writer.data(chunk(filler), end);
    ASSERT_LT(end, 64u << 20) << "the terminal never filled up";
  }
  std::string newest(100, 'n');
  for (int i = 0; i < 5; ++i) {
    end += newest.size();
    writer.data(chunk(newest), end);
  }
  writer.text("[after]");
  std::uint64_t dropped = writer.dropped_bytes();
  EXPECT_GT(dropped, 0u);
  // Reading the terminal lets the writer go on (the loop runs while it is read).
  std::string seen;
  for (int round = 0; round < 200 && seen.find("[after]") == std::string::npos; ++round) {
    io.run_for(std::chrono::milliseconds(5));
    seen += pty.drain();
  }
  std::size_t line = seen.find("[dropped ");
  ASSERT_NE(line, std::string::npos);
  EXPECT_EQ(seen.find("[dropped ", line + 1), std::string::npos) << "one line for a run of drops";
  EXPECT_NE(seen.find(newest + newest + newest + newest + newest + "[after]"), std::string::npos)
      << "the newest output and the line after it arrive whole";
  EXPECT_EQ(seen.size() - std::string("[after]").size(), end - dropped + (seen.find("]", line) - line + 1))
      << "every byte not dropped arrived once";
  EXPECT_EQ(writer.done_offset(), end);
  EXPECT_EQ(*page, end) << "the bookmark follows";
  // Caught up, nothing more is dropped (the count of what is queued came
  // back to zero, not below).
  writer.data(chunk("tail"), end + 4);
  io.run_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pty.drain(), "tail");
  EXPECT_EQ(writer.dropped_bytes(), dropped);
  ::munmap(const_cast<std::uint64_t*>(page), 4096);
}

TEST(TerminalWriter, TheNewestChunkIsNeverDroppedEvenIfBiggerThanTheLimit) {
  Attached attached(10);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  writer.pause();  // nothing is begun
  writer.data(chunk("aaaa"), 4);
  std::string big(32 * 1024, 'b');
  writer.data(chunk(big), 4 + big.size());  // over the limit alone: the older one goes, not this one
  EXPECT_EQ(writer.dropped_bytes(), 4u);
  writer.resume();
  std::string seen;
  for (int round = 0; round < 100 && seen.size() < big.size() + 11; ++round) {  // through the rest
    io.run_for(std::chrono::milliseconds(5));
    seen += pty.drain();
  }
  EXPECT_EQ(seen, "[dropped 4]" + big);
  EXPECT_EQ(writer.done_offset(), 4 + big.size());
  writer.data(chunk("tail"), big.size() + 8);  // caught up: nothing is dropped any more
  io.run_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pty.drain(), "tail");
  EXPECT_EQ(writer.dropped_bytes(), 4u);
}

TEST(TerminalWriter, ATerminalThatFellBehindRestsThenGetsTheNewest) {
  Attached attached(1000);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  std::uint64_t end = 0;
  std::string filler(4096, 'f');
  while (writer.dropped_bytes() == 0) {  // it falls behind here, and rests
    end += filler.size();
    writer.data(chunk(filler), end);
    ASSERT_LT(end, 64u << 20) << "the terminal never filled up";
  }
  std::uint64_t done = writer.done_offset();
  char buffer[65536];
  ASSERT_GT(::read(pty.master, buffer, sizeof buffer), 0) << "the terminal has room again";
  for (int i = 0; i < 8; ++i) writer.data(chunk(filler), end += filler.size());
  std::string newest(100, 'n');
  writer.data(chunk(newest), end += newest.size());
  io.poll();  // the terminal is writable, but it rests: nothing is written
  EXPECT_EQ(writer.done_offset(), done);
  std::string seen;
  for (int round = 0; round < 100 && writer.done_offset() < end; ++round) {
    io.run_for(std::chrono::milliseconds(5));
    seen += pty.drain();
  }
  EXPECT_EQ(writer.done_offset(), end) << "after its rest it gets the newest output";
  ASSERT_GE(seen.size(), newest.size());
  EXPECT_EQ(seen.substr(seen.size() - newest.size()), newest);
  EXPECT_NE(seen.find("[dropped "), std::string::npos);
  EXPECT_GE(writer.dropped_bytes(), 8 * filler.size()) << "while it rested only the newest was kept";
}

// Fills the terminal until the writer drops output; the console offset reached.
std::uint64_t fall_behind(TerminalWriter& writer, const std::string& filler) {
  std::uint64_t end = 0;
  while (writer.dropped_bytes() == 0 && end < (64u << 20)) writer.data(chunk(filler), end += filler.size());
  return end;
}

TEST(TerminalWriter, ATerminalAloneDoesNotRestItGoesOnWithTheNewestItHolds) {
  constexpr std::size_t limit = 64 * 1024;  // more than a resting terminal keeps
  for (bool alone : {false, true}) {
    Attached attached(limit);
    ASSERT_TRUE(attached.writer);
    auto [pty, io, writer] = attached.parts();
    writer.set_share(proto::Share{limit, 0, alone ? 0u : 1u});
    std::string filler(4096, 'f');
    std::uint64_t end = fall_behind(writer, filler);
    ASSERT_GT(writer.dropped_bytes(), 0u) << "the terminal never filled up";
    if (alone) {
      EXPECT_EQ(writer.dropped_bytes(), filler.size()) << "only the oldest chunk went: its whole limit still waits";
    } else {
      EXPECT_GE(writer.dropped_bytes(), limit - proto::RestPolicy::kKeep) << "resting: cut to the newest";
    }
    std::string newest(100, 'n'), seen;
    writer.data(chunk(newest), end += newest.size());
    for (int round = 0; round < 100 && writer.done_offset() < end; ++round) {
      io.run_for(std::chrono::milliseconds(5));
      seen += pty.drain();
    }
    EXPECT_EQ(writer.done_offset(), end);
    seen += pty.drain();
    ASSERT_GE(seen.size(), newest.size());
    EXPECT_EQ(seen.substr(seen.size() - newest.size()), newest);
  }
}

// What the master has to read now, without waiting for more.
std::string read_now(Pty& pty) {
  std::string out;
  char buffer[65536];
  for (ssize_t n; (n = ::read(pty.master, buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

// Polls the writer's loop and reads the terminal, for well under the
// 250 ms a rest at scale 10 lasts, until `done` says so.
template <typename Done>
std::string poll_briefly(asio::io_context& io, Pty& pty, Done done) {
  std::string seen;
  for (int round = 0; round < 200 && !done(seen); ++round) {
    io.poll();
    seen += read_now(pty);
    ::usleep(100);
  }
  return seen;
}

TEST(TerminalWriter, ATerminalLeftAloneWhileItRestsGoesOnAtOnce) {
  Attached attached(1000);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  writer.set_share(proto::Share{1000, 0, 10});  // a crowd: its first rest is 250 ms
  std::string filler(4096, 'f');
  std::uint64_t end = fall_behind(writer, filler);  // it rests
  ASSERT_GT(writer.dropped_bytes(), 0u) << "the terminal never filled up";
  std::string newest(100, 'n');
  writer.data(chunk(newest), end += newest.size());
  std::uint64_t done = writer.done_offset();
  std::string seen = poll_briefly(io, pty, [](const std::string&) { return false; });
  EXPECT_EQ(writer.done_offset(), done) << "resting";
  writer.set_share(proto::Share{1000, 0, 0});  // the others left
  TerminalWriter* resting = attached.writer.get();  // a lambda may not capture a structured binding (clang)
  seen += poll_briefly(io, pty, [resting, end](const std::string&) { return resting->done_offset() == end; });
  EXPECT_EQ(writer.done_offset(), end) << "the rest ended with the last other client";
  seen += pty.drain();  // written: now read it all
  ASSERT_GE(seen.size(), newest.size());
  EXPECT_EQ(seen.substr(seen.size() - newest.size()), newest);
}

TEST(TerminalWriter, VconsLinesGoEvenWhileTheTerminalRests) {
  Attached attached(1000);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  writer.set_share(proto::Share{1000, 0, 10});
  std::string filler(4096, 'f');
  fall_behind(writer, filler);
  ASSERT_GT(writer.dropped_bytes(), 0u) << "the terminal never filled up";
  std::string seen = poll_briefly(io, pty, [](const std::string&) { return false; });  // it drains, resting
  ASSERT_TRUE(writer.text("[bob joined]\r\n"));
  seen += poll_briefly(io, pty, [](const std::string& s) { return s.find("[bob joined]") != std::string::npos; });
  EXPECT_NE(seen.find("[bob joined]"), std::string::npos) << "shown within the rest (250 ms)";
}

TEST(TerminalWriter, VconsLinesForATerminalNobodyReadsAreBounded) {
  Attached attached(1000);
  ASSERT_TRUE(attached.writer);
  auto [pty, io, writer] = attached.parts();
  std::string line(4096, 'l');
  std::size_t taken = 0;
  while (writer.text(line)) {
    ASSERT_LT(++taken, 10000u) << "a client asking for lines could make the monitor hold any amount";
  }
  EXPECT_FALSE(writer.text("more")) << "refused while the terminal does not read";
  std::string seen;
  for (int round = 0; round < 400 && seen.size() < taken * line.size(); ++round) {
    io.run_for(std::chrono::milliseconds(2));
    seen += pty.drain();
  }
  EXPECT_EQ(seen.size(), taken * line.size()) << "what was taken is written";
  EXPECT_TRUE(writer.text("again")) << "read: lines are taken again";
}

TEST(TerminalWriter, OnlyAWritableTerminalIsTaken) {
  Pty pty;
  EXPECT_FALSE(reopen_client_terminal(pty.master)) << "a pty master";
  int read_only = ::open(::ttyname(pty.slave), O_RDONLY | O_NOCTTY);
  ASSERT_GE(read_only, 0);
  EXPECT_FALSE(reopen_client_terminal(read_only));
  ::close(read_only);
  int null = ::open("/dev/null", O_WRONLY);
  EXPECT_FALSE(reopen_client_terminal(null)) << "a character device, not a terminal";
  ::close(null);
  char name[] = "/tmp/vcon-terminal-writer-XXXXXX";
  int file = ::mkstemp(name);
  ASSERT_GE(file, 0);
  ::unlink(name);
  EXPECT_FALSE(reopen_client_terminal(file));
  ::close(file);
  EXPECT_TRUE(reopen_client_terminal(pty.slave));
}

TEST(TerminalWriter, InputIsReadOnlyFromATerminalPassedForReadingAndWriting) {
  Pty pty;
  int write_only = ::open(::ttyname(pty.slave), O_WRONLY | O_NOCTTY);
  ASSERT_GE(write_only, 0);
  EXPECT_TRUE(reopen_client_terminal(write_only, TerminalAccess::Write)) << "output: writable is enough";
  auto refused = reopen_client_terminal(write_only, TerminalAccess::Read);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("write-only"), std::string::npos) << refused.error().message();
  ::close(write_only);
  auto reading = reopen_client_terminal(pty.slave, TerminalAccess::Read);
  ASSERT_TRUE(reading) << reading.error().message();
  EXPECT_EQ(::fcntl(reading->get(), F_GETFL) & O_ACCMODE, O_RDONLY) << "a description of its own, read-only";
  ASSERT_EQ(::write(pty.master, "k", 1), 1);
  char key = 0;
  for (int tries = 0; tries < 1000 && ::read(reading->get(), &key, 1) != 1; ++tries) ::usleep(1000);
  EXPECT_EQ(key, 'k');
}

}  // namespace
}  // namespace vcon
