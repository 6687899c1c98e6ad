// The console file system server. FUSE requests and monitor connections
// share one Asio loop: a request that cannot be answered yet (a read with no
// output, an open waiting for the monitor's welcome, a ctl command on its
// way) is kept and answered later, so no caller ever holds up another.
#define FUSE_USE_VERSION 34
#include "fs/consolefs.hpp"

#include <fuse_lowlevel.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/stat.h>

#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "base/clock.hpp"
#include "base/daemon.hpp"
#include "base/json_text.hpp"
#include "base/report.hpp"
#include "base/token.hpp"
#include "console/consoledb_file.hpp"
#include "console/rate_gate.hpp"
#include "console/notice_text.hpp"
#include "fs/console_directory.hpp"
#include "fs/mount.hpp"
#include "fs/reader_buffer.hpp"
#include "fs/stat_text.hpp"
#include "proto/connection.hpp"
#include "proto/messages.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;
using proto::FrameType;

constexpr std::uint64_t kReplay = 16384;        // what a new reader of NAME gets first
constexpr std::size_t kReaderWindow = 256 * 1024;  // per open NAME: a slower reader skips ahead

struct PendingRead {
  fuse_req_t req;
  off_t offset;
  std::size_t size;
};

// One open file. For NAME, also one client of the console's monitor.
struct OpenFile {
  FileKind kind = FileKind::Data;
  std::string console;
  std::string socket;
  proto::OnBehalf caller;
  std::shared_ptr<proto::FrameConnection> connection;
  ReaderBuffer buffer{kReaderWindow};
  std::string text;  // NAMEstat's, made at open
  fuse_req_t open_req = nullptr;
  fuse_file_info open_info{};
  std::uint64_t replay_left = 0;
  bool closed = false, can_write = false;
  bool writes = false;   // opened for writing: asks read-write again after a reconnect
  bool halted = false;   // the zone halted: the end of this file
  std::uint64_t position = 0;  // the console offset of the next byte (for a reconnect)
  std::optional<std::chrono::steady_clock::time_point> give_up;  // reconnecting until then
  std::uint64_t next_offset = 0;  // where the last read ended: what poll looks at
  std::vector<PendingRead> reads;
  fuse_pollhandle* poll = nullptr;
  std::string token = attach_token();  // on each of vcon's lines in this open's data
};

// A control connection for a few requests; `done` gets every response, or
// the first error.
void exchange(asio::io_context& io, const std::string& socket_path, std::vector<json> requests,
              std::function<void(Result<std::vector<json>>)> done) {
  asio::local::stream_protocol::socket socket(io);
  std::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  if (ec) {
    done(Error{"no monitor serves this console", ENXIO});
    return;
  }
  struct State {
    std::vector<json> responses;
    std::size_t expected;
    std::function<void(Result<std::vector<json>>)> done;
  };
  auto state = std::make_shared<State>(State{{}, requests.size(), std::move(done)});
  auto connection = std::make_shared<proto::FrameConnection>(std::move(socket));
  connection->trust_peer();
  auto finish = [state, weak = std::weak_ptr(connection)](Result<std::vector<json>> result) {
    if (!state->done) return;
    auto done = std::move(state->done);
    state->done = nullptr;
    if (auto connection = weak.lock()) connection->close_after_send();
    done(std::move(result));
  };
  connection->start(
      [state, finish](proto::Frame frame) {
        if (frame.type == FrameType::Response) {
          state->responses.push_back(json::parse(frame.payload, nullptr, false));
          if (state->responses.size() == state->expected) finish(std::move(state->responses));
        } else if (frame.type == FrameType::Error) {
          finish(make_error(frame.payload));
        }
      },
      [finish](const std::string& reason) { finish(make_error("the monitor closed the connection: " + reason)); });
  connection->send(FrameType::Hello, json_text(json{{"version", proto::kVersion}, {"mode", "control"}}));
  for (auto& request : requests) connection->send(FrameType::Request, json_text(request));
}

json on_behalf_json(const proto::OnBehalf& caller) {
  return {{"user", caller.user}, {"uid", caller.uid}, {"pid", caller.pid}};
}

class ConsoleFs {
 public:
  ConsoleFs(asio::io_context& io, const Paths& paths)
      : io_(io), paths_(paths), consoledb_(paths.consoledb, report), mounted_at_(wall_clock_seconds()) {}

  static const fuse_lowlevel_ops& operations();
  static constexpr double kNameSeconds = 1.0;

 private:
  // The session's user data is where the server is (it starts after the mount).
  static ConsoleFs& self(fuse_req_t req) { return **static_cast<ConsoleFs**>(fuse_req_userdata(req)); }

  // ---- who is asking ----

  // Callers by uid, looked up again after a few seconds (group changes).
  const Caller& caller(fuse_req_t req) {
    uid_t uid = fuse_req_ctx(req)->uid;
    auto now = std::chrono::steady_clock::now();
    auto found = callers_.find(uid);
    if (found == callers_.end() || now - found->second.second > std::chrono::seconds(2)) {
      found = callers_.insert_or_assign(uid, std::pair{caller_for(uid), now}).first;
    }
    return found->second.first;
  }

  Access access(const Console& console, const Caller& who) {
    const ConsoleDb& db = consoledb_.current();
    return access_for(db, db.find(console.name), who);
  }

  struct stat attributes(fuse_ino_t ino, const Console& console, FileKind kind, const Caller& who,
                         const OpenFile* open) {
    struct stat st {};
    st.st_ino = ino;
    st.st_nlink = 1;
    Access may = access(console, who);
    // The mode shows what the asking user may do, as its owner.
    st.st_uid = may == Access::None ? 0 : who.uid;
    mode_t mode = 0;
    if (kind == FileKind::Data) mode = may == Access::ReadWrite ? 0600 : may == Access::ReadOnly ? 0400 : 0;
    if (kind == FileKind::Ctl) mode = may == Access::ReadWrite ? 0200 : 0;
    if (kind == FileKind::Stat) mode = may == Access::None ? 0 : 0400;
    st.st_mode = S_IFREG | mode;
    if (kind == FileKind::Data) {
      // What a reader has to read: its own (fstat), or the most any reader
      // has (stat), so `tail -f` never sees the file shrink.
      std::uint64_t size = 0;
      if (open) size = open->buffer.end();
      else {
        for (const auto& [id, file] : files_) {
          if (file->kind == FileKind::Data && file->console == console.name) size = std::max(size, file->buffer.end());
        }
      }
      st.st_size = static_cast<off_t>(size);
    } else if (kind == FileKind::Stat && open) {
      st.st_size = static_cast<off_t>(open->text.size());
    }
    double changed = mounted_at_;
    if (auto found = last_output_.find(console.name); found != last_output_.end()) changed = found->second;
    st.st_mtim.tv_sec = st.st_ctim.tv_sec = static_cast<time_t>(changed);
    st.st_mtim.tv_nsec = st.st_ctim.tv_nsec = static_cast<long>((changed - static_cast<double>(st.st_mtim.tv_sec)) * 1e9);
    st.st_atim = st.st_mtim;
    return st;
  }

  struct stat root_attributes() const {
    struct stat st {};
    st.st_mtim.tv_sec = st.st_ctim.tv_sec = st.st_atim.tv_sec = static_cast<time_t>(mounted_at_);
    st.st_ino = FUSE_ROOT_ID;
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
    return st;
  }

  OpenFile* file_of(const fuse_file_info* fi) {
    if (!fi) return nullptr;
    auto found = files_.find(fi->fh);
    return found == files_.end() ? nullptr : found->second.get();
  }

  // ---- FUSE operations ----

  static void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    auto& fs = self(req);
    auto found = parent == FUSE_ROOT_ID ? fs.directory_.resolve(name) : std::nullopt;
    if (!found) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    fuse_entry_param entry{};
    entry.ino = fs.directory_.inode(found->first.name, found->second);
    entry.attr = fs.attributes(entry.ino, found->first, found->second, fs.caller(req), nullptr);
    // Attributes time out at once (each caller sees its own modes, and every
    // stat the consoledb of now), but a name may be kept for a second: it
    // stands for the same inode as long as it exists, and a getattr or open
    // of a file gone meanwhile fails. Without that, every stat and getxattr
    // of `ls -l` was a lookup more: three round trips per file, 0.5 s for
    // 1,000 zones' files (bench/fleet).
    entry.entry_timeout = kNameSeconds;
    fuse_reply_entry(req, &entry);
  }

  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto& fs = self(req);
    if (ino == FUSE_ROOT_ID) {
      struct stat st = fs.root_attributes();
      fuse_reply_attr(req, &st, 0);
      return;
    }
    auto found = fs.directory_.from_inode(ino);
    if (!found) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    struct stat st = fs.attributes(ino, found->first, found->second, fs.caller(req), fs.file_of(fi));
    fuse_reply_attr(req, &st, 0);
  }

  // A console file's attributes are the consoledb's: none can be set. A
  // truncation or new times (truncate(2), touch) are taken from whoever
  // may write, and change nothing; from anyone else they are refused, as
  // is every other change. (`>` truncates in open(): atomic_o_trunc.)
  static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set, fuse_file_info* fi) {
    auto& fs = self(req);
    if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
      fuse_reply_err(req, EPERM);
      return;
    }
    if (ino != FUSE_ROOT_ID) {
      auto found = fs.directory_.from_inode(ino);
      if (!found) {
        fuse_reply_err(req, ENOENT);
        return;
      }
      if (!(fs.attributes(ino, found->first, found->second, fs.caller(req), nullptr).st_mode & S_IWUSR)) {
        fuse_reply_err(req, EACCES);
        return;
      }
    } else if (fs.caller(req).uid != 0) {
      fuse_reply_err(req, EACCES);
      return;
    }
    getattr(req, ino, fi);
  }

  static void access_op(fuse_req_t req, fuse_ino_t ino, int mask) {
    auto& fs = self(req);
    if (ino == FUSE_ROOT_ID) {
      fuse_reply_err(req, (mask & W_OK) && fs.caller(req).uid != 0 ? EACCES : 0);
      return;
    }
    auto found = fs.directory_.from_inode(ino);
    if (!found) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    mode_t mode = fs.attributes(ino, found->first, found->second, fs.caller(req), nullptr).st_mode;
    bool ok = (!(mask & R_OK) || (mode & S_IRUSR)) && (!(mask & W_OK) || (mode & S_IWUSR)) && !(mask & X_OK);
    fuse_reply_err(req, ok ? 0 : EACCES);
  }

  // The directory is listed once per opendir (and again on a rewind to
  // offset 0), not at every readdir of it: one `ls` sees one directory,
  // and 1,000 zones are listed once, not once per page of entries.
  static void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto& fs = self(req);
    if (ino != FUSE_ROOT_ID) {
      fuse_reply_err(req, ENOTDIR);
      return;
    }
    fi->fh = fs.next_id_++;
    fs.listings_[fi->fh] = fs.directory_.consoles();
    fuse_reply_open(req, fi);
  }

  static void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    self(req).listings_.erase(fi->fh);
    fuse_reply_err(req, 0);
  }

  static void readdir(fuse_req_t req, fuse_ino_t, std::size_t size, off_t offset, fuse_file_info* fi) {
    list(req, size, offset, fi, false);
  }

  // readdir with each file's attributes (for the caller, as getattr gives
  // them) and its name kept as lookup keeps it: `ls -l` needs no lookup.
  static void readdirplus(fuse_req_t req, fuse_ino_t, std::size_t size, off_t offset, fuse_file_info* fi) {
    list(req, size, offset, fi, true);
  }

  static void list(fuse_req_t req, std::size_t size, off_t offset, fuse_file_info* fi, bool plus) {
    auto& fs = self(req);
    auto found = fs.listings_.find(fi->fh);
    if (found == fs.listings_.end()) {
      fuse_reply_err(req, EBADF);
      return;
    }
    if (offset == 0) found->second = fs.directory_.consoles();
    const std::vector<Console>& consoles = found->second;
    const Caller* who = plus ? &fs.caller(req) : nullptr;
    std::vector<char> buffer(size);
    std::size_t used = 0;
    for (auto i = static_cast<std::size_t>(offset); i < 2 + consoles.size() * 3; ++i) {
      std::string name = i == 0 ? "." : "..";
      fuse_entry_param entry{};
      if (i < 2) {
        entry.attr = fs.root_attributes();
      } else {
        const Console& console = consoles[(i - 2) / 3];
        auto kind = static_cast<FileKind>((i - 2) % 3);
        name = console.name + file_suffix(kind);
        entry.ino = fs.directory_.inode(console.name, kind);
        entry.entry_timeout = kNameSeconds;
        if (plus) {
          entry.attr = fs.attributes(entry.ino, console, kind, *who, nullptr);
        } else {
          entry.attr.st_ino = entry.ino;
          entry.attr.st_mode = S_IFREG;
        }
      }
      auto next = static_cast<off_t>(i + 1);
      std::size_t need = plus ? fuse_add_direntry_plus(req, buffer.data() + used, size - used, name.c_str(), &entry, next)
                              : fuse_add_direntry(req, buffer.data() + used, size - used, name.c_str(), &entry.attr, next);
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buffer.data(), used);
  }

  static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto& fs = self(req);
    auto found = fs.directory_.from_inode(ino);
    if (!found) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    auto& [console, kind] = *found;
    const Caller& who = fs.caller(req);
    int mode = fi->flags & O_ACCMODE;
    bool reads = mode != O_WRONLY, writes = mode != O_RDONLY;
    // A truncation needs write access (`>` opens with O_TRUNC, which
    // libfuse passes here, atomic_o_trunc), whatever the mode says; it
    // does not make a read-only open a writer.
    bool truncates = fi->flags & O_TRUNC;
    Access may = fs.access(console, who);
    bool allowed = kind == FileKind::Data   ? (!(writes || truncates) || may == Access::ReadWrite) && may != Access::None
                   : kind == FileKind::Ctl  ? !reads && may == Access::ReadWrite
                                            : !(writes || truncates) && may != Access::None;
    if (!allowed) {
      fuse_reply_err(req, EACCES);
      return;
    }
    auto file = std::make_shared<OpenFile>();
    file->kind = kind;
    file->console = console.name;
    file->socket = console.socket;
    file->caller = proto::OnBehalf{who.user, who.uid, fuse_req_ctx(req)->pid};
    file->open_req = req;
    file->open_info = *fi;
    std::uint64_t id = fs.next_id_++;
    fs.files_[id] = file;
    if (kind == FileKind::Data) fs.attach(id, *file, reads, writes);
    else if (kind == FileKind::Stat) fs.fetch_status(id, console);
    else fs.finish_open(*file, id);
  }

  // NAME: a client of the monitor, answered once the replay is in. After
  // the monitor went away (a crash, an upgrade), again, from `position`.
  void attach(std::uint64_t id, OpenFile& file, bool reads, bool writes, bool again = false) {
    asio::local::stream_protocol::socket socket(io_);
    std::error_code ec;
    socket.connect(asio::local::stream_protocol::endpoint(file.socket), ec);
    if (ec) {
      if (again) reconnect(id);
      else fail_open(id, ENXIO);
      return;
    }
    file.writes = writes;
    file.connection = std::make_shared<proto::FrameConnection>(std::move(socket));
    file.connection->trust_peer();
    file.connection->start([this, id](proto::Frame frame) { on_frame(id, std::move(frame)); },
                           [this, id](const std::string&) { on_close(id); });
    json hello{{"version", proto::kVersion},
               {"mode", writes ? "rw" : "ro"},
               {"busy", "watch"},
               {"replay", reads ? kReplay : 0},
               {"on_behalf", on_behalf_json(file.caller)}};
    if (again) hello["from"] = file.position;
    file.connection->send(FrameType::Hello, json_text(hello));
  }

  // The monitor went away without the zone halting: its keeper starts
  // another within a second. Readers wait meanwhile; after 15 s, the end.
  void reconnect(std::uint64_t id) {
    auto found = files_.find(id);
    if (found == files_.end()) return;
    OpenFile& file = *found->second;
    auto now = std::chrono::steady_clock::now();
    if (!file.give_up) {
      file.give_up = now + std::chrono::seconds(15);
      in_band(file, fmt::format("[the monitor of {} went away; reconnecting]", file.console));
      wake(file);
    } else if (now > *file.give_up) {
      in_band(file, fmt::format("[the monitor of {} did not come back]", file.console));
      file.closed = true;
      wake(file);
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    timer->async_wait([this, id, timer](std::error_code ec) {
      auto again = files_.find(id);
      if (ec || again == files_.end()) return;
      attach(id, *again->second, true, again->second->writes, true);
    });
  }

  // A stat file's text: asked of the monitor (as root, so not limited by
  // its rate of `who` per user) at most every kStatFresh per console; opens
  // in between get the last text. Any user may open it in a loop, and with
  // a crowd attached each `who` is a few hundred KB for the monitor to make.
  static constexpr std::chrono::milliseconds kStatFresh{250};
  void fetch_status(std::uint64_t id, const Console& console) {
    auto now = std::chrono::steady_clock::now();
    if (auto last = stat_texts_.find(console.name);
        last != stat_texts_.end() && now - last->second.second < kStatFresh) {
      OpenFile& file = *files_.at(id);
      file.text = last->second.first;
      finish_open(file, id);
      return;
    }
    exchange(io_, console.socket, {json{{"op", "status"}}, json{{"op", "who"}}},
             [this, id, console, now](Result<std::vector<json>> answers) {
               auto found = files_.find(id);
               if (found == files_.end()) return;
               OpenFile& file = *found->second;
               if (!answers) {
                 file.text = stat_text(console.name, console.kind(), nullptr, nullptr);
               } else {
                 const json& who = answers->at(1);
                 bool listed = who.is_object() && who.contains("clients");
                 file.text = stat_text(console.name, console.kind(), answers->at(0),
                                       listed ? who["clients"] : json::array(),
                                       listed ? proto::field_or<std::size_t>(who, "more", 0) : 0);
                 stat_texts_.insert_or_assign(console.name, std::pair{file.text, now});
               }
               finish_open(file, id);
             });
  }

  void finish_open(OpenFile& file, std::uint64_t id) {
    if (!file.open_req) return;
    if (file.kind == FileKind::Data) {
      // After the replay, before anything live: what marks this open's own
      // lines, where no zone output can come first.
      in_band(file, fmt::format("[{}, {}; vcon's own lines in this file start with [vcon {}]]", file.console,
                                file.can_write ? "read-write" : "read-only", file.token));
    }
    fuse_file_info info = file.open_info;
    info.fh = id;
    info.direct_io = 1;  // no page cache: every read comes here
    fuse_reply_open(file.open_req, &info);
    file.open_req = nullptr;
  }

  void fail_open(std::uint64_t id, int error) {
    auto found = files_.find(id);
    if (found == files_.end()) return;
    if (found->second->open_req) fuse_reply_err(found->second->open_req, error);
    files_.erase(found);
  }

  void on_frame(std::uint64_t id, proto::Frame frame) {
    auto found = files_.find(id);
    if (found == files_.end()) return;
    OpenFile& file = *found->second;
    switch (frame.type) {
      case FrameType::Welcome: {
        auto welcome = json::parse(frame.payload, nullptr, false);
        file.can_write = proto::field_or<std::string>(welcome, "mode", "ro") == "rw";
        file.position = proto::field_or<std::uint64_t>(welcome, "replay_from", 0);
        file.give_up.reset();
        file.replay_left = proto::field_or<std::uint64_t>(welcome, "replay_to", 0) -
                           proto::field_or<std::uint64_t>(welcome, "replay_from", 0);
        if (file.replay_left == 0) finish_open(file, id);
        return;
      }
      case FrameType::Data:
        last_output_[file.console] = wall_clock_seconds();
        file.position += frame.payload.size();
        file.buffer.append(frame.payload);
        if (file.replay_left > 0) {
          file.replay_left -= std::min<std::uint64_t>(file.replay_left, frame.payload.size());
          if (file.replay_left == 0) finish_open(file, id);
        }
        break;
      case FrameType::Notice: {
        auto notice = json::parse(frame.payload, nullptr, false);
        std::string type = proto::field_or<std::string>(notice, "type", "");
        if (type == "forced") file.can_write = false;
        if (type == "write") file.can_write = true;
        if (type == "dropped") file.position += proto::field_or<std::uint64_t>(notice, "bytes", 0);
        if (type == "state" && proto::field_or<std::string>(notice, "state", "") == "halted") file.halted = true;
        in_band(file, notice_text(notice));
        break;
      }
      case FrameType::Error:
        if (file.open_req) {
          report_for(file.caller.uid, file.caller.user,
                     fmt::format("open {} for {}: {}", file.console, file.caller.user, frame.payload));
          // Past the caller's (or the console's) limit of connections: as
          // many files as that are open already.
          fail_open(id, frame.payload.starts_with(proto::kTooManyConnections) ? EMFILE : EIO);
          return;
        }
        in_band(file, "[" + frame.payload + "]");
        break;
      default:
        return;
    }
    wake(file);
  }

  // A line for the file system's log caused by a user (a refused open, a
  // bad ctl command): a burst, then one per 2 s per user (RateGate), the
  // rest counted. That log is never rotated, and a user looping on a
  // refusal would fill its disk.
  void report_for(uid_t uid, const std::string& user, const std::string& text) {
    if (user_lines_.admit(uid, user) == RateGate::Duration::zero()) report(text);
  }

  // Notices go in the data, as consolefs puts them: on a line of their own,
  // marked "[vcon #3fa9c01b5d2e]" with this open's token, which no zone can know.
  static void in_band(OpenFile& file, const std::string& text) {
    if (text.empty()) return;
    std::string line = file.buffer.at_line_start() ? "" : "\r\n";
    line += "[vcon " + file.token + "] " + text + "\r\n";
    file.buffer.append(line);
  }

  void on_close(std::uint64_t id) {
    auto found = files_.find(id);
    if (found == files_.end()) return;
    OpenFile& file = *found->second;
    if (file.open_req) {
      fail_open(id, EIO);
      return;
    }
    if (!file.halted) {
      file.can_write = false;
      reconnect(id);
      return;
    }
    file.closed = true;
    wake(file);
  }

  // Answers the reads that can be answered now, and tells poll.
  static void wake(OpenFile& file) {
    std::erase_if(file.reads, [&](const PendingRead& read) {
      std::string_view bytes = file.buffer.read(static_cast<std::uint64_t>(read.offset), read.size);
      if (bytes.empty() && !file.closed) return false;
      file.next_offset = static_cast<std::uint64_t>(read.offset) + bytes.size();
      fuse_reply_buf(read.req, bytes.data(), bytes.size());
      return true;
    });
    if (file.poll && (file.closed || file.buffer.readable(file.next_offset))) {
      fuse_lowlevel_notify_poll(file.poll);
      fuse_pollhandle_destroy(file.poll);
      file.poll = nullptr;
    }
  }

  static void read(fuse_req_t req, fuse_ino_t, std::size_t size, off_t offset, fuse_file_info* fi) {
    auto& fs = self(req);
    OpenFile* file = fs.file_of(fi);
    if (!file) {
      fuse_reply_err(req, EBADF);
      return;
    }
    if (file->kind == FileKind::Stat) {
      auto at = std::min(static_cast<std::size_t>(offset), file->text.size());
      fuse_reply_buf(req, file->text.data() + at, std::min(size, file->text.size() - at));
      return;
    }
    if (file->kind == FileKind::Ctl) {
      fuse_reply_err(req, EBADF);
      return;
    }
    std::string_view bytes = file->buffer.read(static_cast<std::uint64_t>(offset), size);
    if (!bytes.empty() || file->closed) {
      file->next_offset = static_cast<std::uint64_t>(offset) + bytes.size();
      fuse_reply_buf(req, bytes.data(), bytes.size());
      return;
    }
    if (fi->flags & O_NONBLOCK) {
      fuse_reply_err(req, EAGAIN);
      return;
    }
    file->reads.push_back(PendingRead{req, offset, size});
    fuse_req_interrupt_func(req, interrupted, &fs);
  }

  // Ctrl-C on a waiting reader: answer its read at once.
  static void interrupted(fuse_req_t req, void* data) {
    auto& fs = *static_cast<ConsoleFs*>(data);
    for (auto& [id, file] : fs.files_) {
      auto found = std::find_if(file->reads.begin(), file->reads.end(),
                                [req](const PendingRead& read) { return read.req == req; });
      if (found != file->reads.end()) {
        file->reads.erase(found);
        fuse_reply_err(req, EINTR);
        return;
      }
    }
  }

  static void write(fuse_req_t req, fuse_ino_t, const char* data, std::size_t size, off_t, fuse_file_info* fi) {
    auto& fs = self(req);
    OpenFile* file = fs.file_of(fi);
    if (!file || file->kind == FileKind::Stat) {
      fuse_reply_err(req, EBADF);
      return;
    }
    if (file->kind == FileKind::Ctl) {
      fs.send_ctl(req, *file, std::string(data, size), size);
      return;
    }
    if (file->closed) {
      fuse_reply_err(req, ENXIO);
      return;
    }
    if (!file->can_write) {  // another client holds the write lock
      fuse_reply_err(req, EBUSY);
      return;
    }
    // In frames a monitor takes (kMaxClientFrame), however big the write.
    constexpr std::size_t kPiece = proto::kMaxClientFrame - 1;
    for (std::size_t at = 0; at < size; at += kPiece) {
      file->connection->send(FrameType::Data, std::string(data + at, std::min(kPiece, size - at)));
    }
    fuse_reply_write(req, size);
  }

  void send_ctl(fuse_req_t req, const OpenFile& file, std::string command, std::size_t size) {
    std::string console = file.console, user = file.caller.user;
    json request{{"op", "ctl"}, {"command", command}, {"on_behalf", on_behalf_json(file.caller)}};
    exchange(io_, file.socket, {request}, [this, req, size, console, user, uid = file.caller.uid](
                                               Result<std::vector<json>> answer) {
      if (answer) {
        fuse_reply_write(req, size);
        return;
      }
      report_for(uid, user, fmt::format("{}ctl from {}: {}", console, user, answer.error().message()));
      // Past the user's rate of commands: try again later, not a bad command.
      bool too_many = answer.error().message().starts_with(proto::kTooManyCommands);
      fuse_reply_err(req, answer.error().errno_value == ENXIO ? ENXIO : too_many ? EAGAIN : EINVAL);
    });
  }

  static void poll(fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* handle) {
    auto& fs = self(req);
    OpenFile* file = fs.file_of(fi);
    if (!file) {
      if (handle) fuse_pollhandle_destroy(handle);
      fuse_reply_err(req, EBADF);
      return;
    }
    unsigned events = 0;
    if (file->kind == FileKind::Stat) events = POLLIN;
    if (file->kind == FileKind::Ctl) events = POLLOUT;
    if (file->kind == FileKind::Data) {
      if (file->closed || file->buffer.readable(file->next_offset)) events |= POLLIN;
      if (file->can_write && !file->closed) events |= POLLOUT;
    }
    if (handle) {
      if (file->poll) fuse_pollhandle_destroy(file->poll);
      file->poll = handle;
    }
    fuse_reply_poll(req, events);
  }

  static void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    auto& fs = self(req);
    auto found = fs.files_.find(fi->fh);
    if (found != fs.files_.end()) {
      OpenFile& file = *found->second;
      for (auto& read : file.reads) fuse_reply_err(read.req, EINTR);
      if (file.poll) fuse_pollhandle_destroy(file.poll);
      if (file.connection) {
        file.connection->set_handlers(nullptr, nullptr);
        file.connection->close("released");  // the monitor tells the others: [-user, ...]
      }
      fs.files_.erase(found);
    }
    fuse_reply_err(req, 0);
  }

  asio::io_context& io_;
  Paths paths_;
  ConsoleDbFile consoledb_;
  double mounted_at_;
  ConsoleDirectory directory_{paths_, consoledb_};
  std::map<uid_t, std::pair<Caller, std::chrono::steady_clock::time_point>> callers_;
  std::map<std::uint64_t, std::shared_ptr<OpenFile>> files_;
  RateGate user_lines_{io_.get_executor(), [](const std::string&, uid_t uid, std::uint64_t count) {
                         report(fmt::format("uid {}: {} more lines not logged one by one (too many, too fast)", uid,
                                            count));
                       }};
  // Per console: its stat file's last text, and when it was asked for.
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> stat_texts_;
  std::map<std::uint64_t, std::vector<Console>> listings_;  // by opendir handle
  std::map<std::string, double> last_output_;
  std::uint64_t next_id_ = 1;

};

const fuse_lowlevel_ops& ConsoleFs::operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.lookup = lookup;
    o.getattr = getattr;
    o.setattr = setattr;
    o.access = access_op;
    o.opendir = opendir;
    o.releasedir = releasedir;
    o.readdir = readdir;
    o.readdirplus = readdirplus;
    o.open = open;
    o.read = read;
    o.write = write;
    o.poll = poll;
    o.release = release;
    return o;
  }();
  return ops;
}

// Feeds the FUSE device into the Asio loop: one request per readiness.
void serve_fuse(fuse_session* session, asio::posix::stream_descriptor& device, fuse_buf& buffer, asio::io_context& io) {
  device.async_wait(asio::posix::descriptor_base::wait_read, [session, &device, &buffer, &io](std::error_code ec) {
    if (ec) return;
    int received = fuse_session_receive_buf(session, &buffer);
    if (received == -EINTR || received == -EAGAIN) {
      serve_fuse(session, device, buffer, io);
      return;
    }
    if (received <= 0) {  // unmounted from outside
      io.stop();
      return;
    }
    fuse_session_process_buf(session, &buffer);
    if (fuse_session_exited(session)) {
      io.stop();
      return;
    }
    serve_fuse(session, device, buffer, io);
  });
}

}  // namespace

Result<int> run_consolefs(const Paths& paths, const FsOptions& options) {
  ::signal(SIGPIPE, SIG_IGN);
  hold_stop_signals(true);
  auto prepared = prepare_mountpoint(options.mountpoint);
  if (!prepared) return prepared.error();
  if (!prepared->empty()) report(*prepared);
  ConsoleFs* server = nullptr;
  auto session = FuseSession::mount(options.mountpoint, ConsoleFs::operations(), &server);
  if (!session) return session.error();
  if (!options.foreground) {
    auto daemon = become_daemon("consoles mounted on " + options.mountpoint, paths.fs_log());
    if (!daemon) return daemon.error();
    if (!*daemon) {  // the parent: mounted, served by the child
      session->release();
      return 0;
    }
  }
  asio::io_context io;
  ConsoleFs fs(io, paths);
  server = &fs;
  asio::posix::stream_descriptor device(io, ::dup(session->fd()));
  fuse_buf buffer{};
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  signals.async_wait([&](std::error_code ec, int sig) {
    if (!ec) report(fmt::format("got signal {}: unmounting {}", sig, options.mountpoint));
    io.stop();
  });
  serve_fuse(session->get(), device, buffer, io);
  hold_stop_signals(false);
  report(fmt::format("serving consoles on {} (PID {})", options.mountpoint, ::getpid()));
  io.run();
  std::free(buffer.mem);
  return 0;  // the session's destructor unmounts
}

}  // namespace vcon
