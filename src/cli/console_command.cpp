// `vcon console`, `vcon proxy`, `vcon who`: the client side of attach.
//
// vcon console speaks the monitor protocol over a byte stream: the monitor's
// Unix socket, or with --host a socketpair to `ssh HOST vcon proxy NAME`. One
// Asio loop: terminal input through the escape parser to data frames, frames
// from the monitor to the terminal, notices on lines of their own, SIGWINCH
// to resize frames. The terminal is raw while attached and restored on every
// way out (detach, zone halt, signal, error).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/files.hpp"
#include "base/json_text.hpp"
#include "base/names.hpp"
#include "base/terminal.hpp"
#include "base/token.hpp"
#include "cli/commands.hpp"
#include "console/consoledb_file.hpp"
#include "console/escape.hpp"
#include "console/notice_text.hpp"
#include "proto/client.hpp"
#include "proto/messages.hpp"
#include "zone/zone_store.hpp"

namespace vcon::cli {

namespace {

using json = nlohmann::json;
using proto::FrameType;

constexpr long long kWholeRing = 1LL << 30;  // the monitor clamps replay to what its ring holds

// Terminal input for the event loop. Asio makes its descriptors non-blocking;
// on a terminal, fds 0, 1 and 2 share one open file description, so a dup()
// of 0 would make our output non-blocking too. A fresh open of the same file
// gets a description of its own.
int own_stdin() {
  int fd = ::open("/proc/self/fd/0", O_RDONLY | O_CLOEXEC | O_NOCTTY);
  return fd >= 0 ? fd : ::fcntl(0, F_DUPFD_CLOEXEC, 0);
}

// A byte stream to the monitor: its socket, or a socketpair to ssh; or
// none yet: the zone is halted, and the client waits for it to boot.
struct Transport {
  UniqueFd fd;
  pid_t ssh = -1;  // reaped when the console ends
};

// Whether `name` is a halted zone this caller may watch boot: root, if the
// zone exists; a user, if the consoledb lets them use its console.
bool may_wait_for(const Paths& paths, const std::string& name) {
  if (!validate_zone_name(name) || zone_running(paths, name)) return false;
  if (::geteuid() == 0) {
    auto config = load_zone(paths, name);
    return config && !zone_orphaned(config.value());
  }
  ConsoleDbFile consoledb(paths.consoledb, nullptr);
  const ConsoleDb& db = consoledb.current();
  return access_for(db, db.for_zone(name), caller_for(::getuid())) != Access::None;
}

Result<Transport> open_transport(const Paths& paths, const ConsoleOptions& options) {
  if (options.host.empty() && may_wait_for(paths, options.name)) return Transport{};
  if (options.host.empty()) {
    auto socket = console_socket(paths, options.name);
    if (!socket) return socket.error();
    auto fd = proto::connect_unix(*socket);
    if (!fd) return fd.error();
    return Transport{std::move(fd.value())};
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno_error("socketpair");
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const char* ssh = std::getenv("VCON_SSH");
  std::string program = ssh && *ssh ? ssh : "ssh";
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork ssh");
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(theirs.get(), 0);
    ::dup2(theirs.get(), 1);
    ::execlp(program.c_str(), program.c_str(), options.host.c_str(), "vcon", "proxy", options.name.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return Transport{std::move(ours), pid};
}

class ConsoleClient {
 public:
  ConsoleClient(const ConsoleOptions& options, Transport transport, std::string socket_path)
      : options_(options),
        socket_path_(std::move(socket_path)),
        ssh_(transport.ssh),
        socket_(io_),
        input_(io_, own_stdin()),
        signals_(io_, SIGWINCH, SIGTERM, SIGHUP),
        retry_timer_(io_),
        escape_(options.escape),
        tty_(::isatty(1)) {
    signals_.add(SIGINT);
    signals_.add(SIGQUIT);
    waiting_ = !transport.fd;
    first_fd_ = std::move(transport.fd);
  }

  ~ConsoleClient() {
    if (ssh_ > 0) {
      std::error_code ignored;
      socket_.close(ignored);
      int status;
      ::waitpid(ssh_, &status, 0);
    }
  }

  Result<int> run() {
    if (::isatty(0)) {
      auto raw = RawTerminal::enter(0);
      if (!raw) return raw.error();
      raw_.emplace(std::move(raw.value()));
    }
    if (waiting_) {
      // A halted zone: watch it boot, from its first byte.
      show(fmt::format("[zone {} is not running: waiting for it to boot; {}]", options_.name, leave_hint()));
      start_input();
      retry_connect();
    } else {
      socket_.assign(first_fd_.release());
      say_hello(options_.force, options_.replay);
      read_socket();  // input is read from the welcome on, once it is known whether it may be sent
    }
    watch_signals();
    io_.run();
    if (raw_) raw_->restore();
    if (!error_.empty()) return make_error(error_);
    if (!farewell_.empty()) (void)write_all(1, farewell_);
    return exit_code_;
  }

 private:
  void say_hello(bool force, long long replay, std::optional<std::uint64_t> from = std::nullopt) {
    json hello{{"version", proto::kVersion},
               {"mode", options_.read_only ? "ro" : "rw"},
               {"force", force},
               {"replay", replay}};
    if (from) {  // back after the monitor was replaced: from where we were, writing again if nobody else does
      hello["from"] = *from;
      hello["busy"] = "watch";
    }
    if (auto size = window_size()) {
      hello["rows"] = size->ws_row;
      hello["cols"] = size->ws_col;
    }
    send(FrameType::Hello, json_text(hello));
  }

  std::optional<winsize> window_size() {
    winsize size;
    if (::ioctl(0, TIOCGWINSZ, &size) == 0 && size.ws_row > 0) return size;
    return std::nullopt;
  }

  // vcon's own lines: on a line of their own, set apart, and each carrying
  // this attach's token. A zone can print reverse video and brackets, but
  // not the token: it is made here, at random, and shown only at attach.
  // With direct output the monitor writes to our terminal, so our lines go
  // through it too, in order with the console's.
  void show(const std::string& text) {
    std::string line = vcon_line(text, token_, tty_);
    if (line.empty()) return;
    if (direct_) send(FrameType::Request, json_text(json{{"op", "print"}, {"text", line}}));
    else (void)write_all(1, line);
  }

  void end(int code, std::string farewell = {}) {
    exit_code_ = code;
    farewell_ = std::move(farewell);
    if (!direct_ || ending_) {
      io_.stop();
      return;
    }
    // The monitor writes to our terminal: it must have stopped before the
    // terminal is restored and the farewell printed. Our end of input tells
    // it; its end of the connection (or half a second) says it has.
    ending_ = true;
    ::shutdown(socket_.native_handle(), SHUT_WR);
    retry_timer_.cancel();
    retry_timer_.expires_after(std::chrono::milliseconds(500));
    retry_timer_.async_wait([this](std::error_code ec) {
      if (!ec) io_.stop();
    });
  }

  void fail(std::string message) {
    error_ = std::move(message);
    io_.stop();
  }

  void send(FrameType type, std::string_view payload, int fd = -1) {
    if (ending_) return;
    outgoing_.push_back(Outgoing{proto::encode(type, payload), fd});
    if (outgoing_.size() == 1) write_socket();
  }

  void write_socket() {
    if (outgoing_.front().fd >= 0) {  // a frame with an fd: alone, in one sendmsg
      socket_.async_wait(asio::posix::descriptor_base::wait_write, [this](std::error_code ec) {
        if (ec || outgoing_.empty()) return;
        const Outgoing& front = outgoing_.front();
        if (!send_fds(socket_.native_handle(), {front.fd}, front.frame)) return;  // the read side reports it
        outgoing_.pop_front();
        if (!outgoing_.empty()) write_socket();
      });
      return;
    }
    asio::async_write(socket_, asio::buffer(outgoing_.front().frame), [this](std::error_code ec, std::size_t) {
      if (ec) return;  // the read side reports the loss
      outgoing_.pop_front();
      if (!outgoing_.empty()) write_socket();
    });
  }

  // Plain reads (asio reads at once when data is there, the common case
  // under a flood); recvmsg once direct output was asked for: the monitor
  // passes its bookmark page with a notice.
  void read_socket() {
    if (!direct_asked_) {
      socket_.async_read_some(asio::buffer(socket_buffer_), [this](std::error_code ec, std::size_t n) {
        if (ec) {
          on_disconnect();
          return;
        }
        got_from_socket(n);
      });
      return;
    }
    socket_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
      if (ec) {
        on_disconnect();
        return;
      }
      std::vector<UniqueFd> passed;  // the monitor's: one at most, and trusted
      ssize_t n = receive_some(socket_.native_handle(), socket_buffer_.data(), socket_buffer_.size(), passed);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        read_socket();
        return;
      }
      if (n <= 0) {
        on_disconnect();
        return;
      }
      if (!passed.empty()) received_fd_ = std::move(passed.front());
      got_from_socket(static_cast<std::size_t>(n));
    });
  }

  void got_from_socket(std::size_t n) {
    decoder_.feed(std::string_view(socket_buffer_.data(), n));
    while (auto frame = decoder_.next()) {
      if (!*frame) {
        fail(frame->error().message());
        return;
      }
      if (!on_frame(frame->value())) return;
    }
    received_fd_.reset();
    read_socket();
  }

  // Direct output and input (docs/monitor.md): on a terminal, attached
  // straight to a local monitor, we pass it our terminal; it writes the
  // console's output there itself, and reads what is typed when stdin is
  // that terminal, open for reading and writing (as a login's or script's
  // is): we stop reading it first. Each keystroke's echo then takes one
  // process less, two hops fewer (bench/peers). By default for a
  // read-write client only: a viewer that keeps reading a flood got less of
  // it through the monitor's writes than through its socket (bench/peers).
  // VCON_DIRECT=1: for viewers too; VCON_DIRECT=0: never.
  // Returns whether input was asked for.
  bool ask_direct() {
    const char* setting = std::getenv("VCON_DIRECT");
    std::string_view wanted = setting ? setting : (options_.read_only ? "0" : "1");
    if (wanted != "1" || !tty_ || !::isatty(0) || ssh_ > 0) return false;
    direct_asked_ = true;  // the answer brings an fd: read with recvmsg from here on
    json request{{"op", "direct"}, {"token", token_}};
    struct stat in {}, out {};
    bool input = ::fstat(0, &in) == 0 && ::fstat(1, &out) == 0 && in.st_rdev == out.st_rdev &&
                 (::fcntl(0, F_GETFL) & O_ACCMODE) == O_RDWR;
    if (input) {
      request["input"] = true;
      if (options_.escape) request["escape"] = static_cast<unsigned char>(*options_.escape);
      stop_input();
      input_asked_ = true;
    }
    send(FrameType::Request, json_text(request), input ? 0 : 1);
    return input;
  }

  void on_direct(const json& notice) {
    bool input = proto::field_or<bool>(notice, "input", false);
    if (input_asked_ && !input) start_input();  // refused: ours to read again
    input_direct_ = input;
    if (!proto::field_or<bool>(notice, "ok", false) || !received_fd_) return;  // the socket it is, then
    void* page = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, received_fd_.get(), 0);
    received_fd_.reset();
    if (page == MAP_FAILED) return;
    bookmark_ = static_cast<const volatile std::uint64_t*>(page);
    direct_ = true;
    send(FrameType::Request, json_text(json{{"op", "resume"}}));  // all the socket brought is written
  }

  // Where we are in the console: with direct output, as far as the monitor
  // wrote to our terminal.
  std::uint64_t position() const { return bookmark_ ? *bookmark_ : position_; }

  void leave_direct() {
    if (bookmark_) {
      position_ = *bookmark_;
      ::munmap(const_cast<std::uint64_t*>(bookmark_), 4096);
      bookmark_ = nullptr;
    }
    direct_ = false;
    direct_asked_ = false;  // a new connection asks again
    if (input_asked_) {  // the monitor has let go of our terminal: ours to read again
      input_asked_ = input_direct_ = false;
      if (!ending_) start_input();
    }
  }

  bool on_frame(const proto::Frame& frame) {
    switch (frame.type) {
      case FrameType::Welcome: {
        json welcome = json::parse(frame.payload, nullptr, false);
        can_write_ = proto::field_or<std::string>(welcome, "mode", "ro") == "rw";
        position_ = proto::field_or<std::uint64_t>(welcome, "replay_from", 0);
        show(fmt::format("[{} {}, {}; {}; vcon's own lines here start with [{}]", reconnecting_ ? "back on" : "attached to",
                         proto::field_or<std::string>(welcome, "console", options_.name),
                         can_write_ ? "read-write" : "read-only",
                         options_.escape ? escape_display(*options_.escape) + "? for help" : "escapes off", token_));
        reconnecting_ = false;
        waiting_ = false;
        if (!ask_direct()) start_input();
        return true;
      }
      case FrameType::Data:
        position_ += frame.payload.size();
        remember(frame.payload);
        (void)write_all(1, frame.payload);
        if (quiet_timer_armed_) arm_quiet_timer();
        return true;
      case FrameType::Response: {
        json answer = json::parse(frame.payload, nullptr, false);
        if (answer.is_object() && answer.contains("clients")) show_who(answer);
        return true;
      }
      case FrameType::Notice: {
        json notice = json::parse(frame.payload, nullptr, false);
        std::string type = proto::field_or<std::string>(notice, "type", "");
        if (type == "forced") can_write_ = false;
        if (type == "write" || type == "took") can_write_ = true;
        if (type == "info" && proto::field_or<std::string>(notice, "text", "") == "read-only now: you watch") {
          can_write_ = false;
        }
        if (type == "state" && proto::field_or<std::string>(notice, "state", "") == "halted") halted_ = true;
        if (type == "dropped" && !direct_) position_ += proto::field_or<std::uint64_t>(notice, "bytes", 0);
        if (type == "direct") {
          on_direct(notice);
          return true;
        }
        if (type == "escape") {  // direct input: the monitor saw it on our terminal
          if (auto action = escape_action_named(proto::field_or<std::string>(notice, "action", ""));
              action && input_direct_) {
            run_action(*action);
          }
          return true;
        }
        if (!proto::field_or<bool>(notice, "shown", false)) show(notice_text(notice));
        return true;
      }
      case FrameType::Error:
        fail(frame.payload);
        return false;
      default:
        return true;
    }
  }

  void on_disconnect() {
    if (ending_) {
      io_.stop();
      return;
    }
    leave_direct();
    if (!halted_) {
      reconnect();
      return;
    }
    // Without a terminal (a script, output to a file), the console's end is
    // the end; with one, wait for the next boot as zlogin -C does.
    if (options_.detach_on_halt || ssh_ > 0 || !::isatty(0)) {
      end(0, tty_ ? "\r\n" : "");
      return;
    }
    // As zlogin -C does: stay, and come back when the zone boots again.
    std::error_code ignored;
    socket_.close(ignored);
    outgoing_.clear();
    decoder_ = proto::FrameDecoder();
    can_write_ = false;
    waiting_ = true;
    show(fmt::format("[waiting for zone {} to boot; {}]", options_.name, leave_hint()));
    retry_connect();
  }

  // The monitor went away without the zone halting: a crash or an upgrade.
  // Its keeper starts another within a second; come back to it from the
  // offset we had, so nothing is missed or shown twice.
  void reconnect() {
    if (ssh_ > 0 || (reconnecting_ && std::chrono::steady_clock::now() > give_up_)) {
      fail("the connection to the monitor of " + options_.name + " was lost");
      return;
    }
    if (!reconnecting_) {
      reconnecting_ = true;
      give_up_ = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      show(fmt::format("[the monitor of {} went away; reconnecting]", options_.name));
    }
    std::error_code ignored;
    socket_.close(ignored);
    outgoing_.clear();
    decoder_ = proto::FrameDecoder();
    can_write_ = false;
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this](std::error_code ec) {
      if (ec) return;
      auto fd = proto::connect_unix(socket_path_);
      if (!fd) {
        reconnect();
        return;
      }
      socket_.assign(fd->release());
      say_hello(false, 0, position());
      read_socket();
    });
  }

  std::string leave_hint() const {
    return options_.escape ? escape_display(*options_.escape) + ". to leave" : "interrupt to leave";
  }

  void start_input() {
    if (reading_input_) return;
    if (!input_.is_open()) input_.assign(own_stdin());
    reading_input_ = true;
    read_input();
  }

  // Closed, not just no longer read: an open descriptor stays in our epoll
  // set and would wake us for every key the monitor reads.
  void stop_input() {
    reading_input_ = false;
    std::error_code ignored;
    input_.close(ignored);
  }

  void retry_connect() {
    retry_timer_.expires_after(std::chrono::milliseconds(200));
    retry_timer_.async_wait([this](std::error_code ec) {
      if (ec) return;
      auto fd = proto::connect_unix(socket_path_);
      if (!fd) {
        retry_connect();
        return;
      }
      halted_ = false;
      socket_.assign(fd->release());
      say_hello(false, kWholeRing);  // a new boot: show it from its first byte
      read_socket();
    });
  }

  void read_input() {
    input_.async_read_some(asio::buffer(input_buffer_), [this](std::error_code ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;  // stop_input(): the monitor reads it now
      if (ec) {
        // Piped input (printf 'uname -a\n' | vcon console web): it has been
        // sent; leave once the console has been quiet for half a second,
        // so what it printed in answer is shown. A watcher stays.
        if (!::isatty(0) && !options_.read_only) {
          quiet_timer_armed_ = true;
          arm_quiet_timer();
        }
        return;
      }
      handle_input(std::string_view(input_buffer_.data(), n));  // read before a stop: sent as ever
      if (reading_input_) read_input();
    });
  }

  void handle_input(std::string_view bytes) {
    while (true) {
      auto parsed = escape_.feed(bytes);
      if (!parsed.send.empty()) {
        if (waiting_) {
          if (!told_waiting_) show(fmt::format("[zone {} is not running: input is not sent]", options_.name));
          told_waiting_ = true;
        } else if (can_write_) {
          send(FrameType::Data, parsed.send);
        } else if (!told_read_only_) {
          told_read_only_ = true;
          show("[read-only: input is not sent]");
        }
      }
      if (!parsed.action) return;
      run_action(*parsed.action);
      if (*parsed.action == EscapeParser::Action::Detach) return;  // the rest is not ours to send
      bytes = parsed.rest;
    }
  }

  // What an escape asks for, seen by us or (direct input) by the monitor.
  void run_action(EscapeParser::Action action) {
    if (action == EscapeParser::Action::Detach) {
      end(0, (tty_ ? "\r\n[" : "[") + token_ + (tty_ ? " detached]\r\n" : " detached]\n"));
      return;
    }
    switch (action) {
      case EscapeParser::Action::Break:
        if (can_write_) send(FrameType::Break, "");
        else show("[read-only: no break sent]");
        break;
      case EscapeParser::Action::Who:
        send(FrameType::Request, json_text(json{{"op", "who"}}));
        break;
      case EscapeParser::Action::Force:
        send(FrameType::Request, json_text(json{{"op", "take"}}));
        break;
      case EscapeParser::Action::ReadOnly:
        send(FrameType::Request, json_text(json{{"op", "release"}}));
        break;
      case EscapeParser::Action::Replay:
        show_last_screen();
        break;
      default:
        if (options_.escape) show(help_text(*options_.escape));
    }
  }

  void watch_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGWINCH) {
        if (auto size = window_size(); size && can_write_) {
          send(FrameType::Resize, json_text(json{{"rows", size->ws_row}, {"cols", size->ws_col}}));
        }
        watch_signals();
        return;
      }
      end(128 + sig, tty_ ? "\r\n[" + token_ + " detached by signal]\r\n" : "");
    });
  }

  // The console's last output, for ~p.
  void remember(std::string_view bytes) {
    history_.append(bytes);
    if (history_.size() > 2 * kHistory) history_.erase(0, history_.size() - kHistory);
  }

  void show_last_screen() {
    unsigned rows = 24;
    if (auto size = window_size()) rows = size->ws_row;
    if (direct_) {  // the monitor has the output, and writes to our terminal
      send(FrameType::Request, json_text(json{{"op", "screen"}, {"rows", rows}}));
      return;
    }
    std::size_t start = history_.size();
    for (unsigned lines = 0; start > 0 && lines <= rows;) {
      if (history_[--start] == '\n') ++lines;
    }
    show("[the last screenful again]");
    (void)write_all(1, history_.substr(start == 0 ? 0 : start + 1));
  }

  // ~w: who is attached, on one line: the writer and the first sixteen
  // (a crowd's whole list is `vcon who`'s to show).
  void show_who(const json& answer) {
    const json& clients = answer["clients"];
    std::string list;
    auto more = proto::field_or<unsigned long long>(answer, "more", 0);
    if (clients.is_array()) {
      std::size_t shown = 0;
      for (const auto& client : clients) {
        bool writer = proto::field_or<std::string>(client, "mode", "") == "rw";
        if (shown == proto::kNamesShown && !writer) {
          ++more;
          continue;
        }
        ++shown;
        if (!list.empty()) list += ", ";
        list += fmt::format("{} (PID {}, {}{})", proto::field_or<std::string>(client, "user", "?"),
                            proto::field_or<long>(client, "pid", 0), proto::field_or<std::string>(client, "mode", "?"),
                            proto::field_or<std::string>(client, "via", "") == "fs" ? ", file system" : "");
      }
    }
    if (more > 0) list += fmt::format(" and {} more", more);
    show("[attached: " + list + "]");
  }

  void arm_quiet_timer() {
    quiet_timer_.expires_after(std::chrono::milliseconds(500));
    quiet_timer_.async_wait([this](std::error_code ec) {
      if (!ec) end(0);
    });
  }

  static constexpr std::size_t kHistory = 64 * 1024;
  const ConsoleOptions& options_;
  std::string socket_path_;
  pid_t ssh_;
  asio::io_context io_;
  asio::posix::stream_descriptor socket_;
  asio::posix::stream_descriptor input_;
  asio::signal_set signals_;
  asio::steady_timer retry_timer_;
  asio::steady_timer quiet_timer_{io_};
  bool quiet_timer_armed_ = false;
  bool reading_input_ = false;
  bool waiting_ = false;  // for the zone to boot: no monitor to talk to yet
  bool told_waiting_ = false;
  UniqueFd first_fd_;  // the monitor's socket, when the zone ran at the start
  std::string history_;
  std::string token_ = attach_token();
  EscapeParser escape_;
  bool tty_;
  std::optional<RawTerminal> raw_;
  proto::FrameDecoder decoder_;
  struct Outgoing {
    std::string frame;
    int fd = -1;  // sent with the frame (our terminal, for direct output); not ours to close
  };
  std::deque<Outgoing> outgoing_;
  UniqueFd received_fd_;  // came with the frames being handled
  bool direct_asked_ = false;  // on this connection
  bool direct_ = false;   // the monitor writes the console's output to our terminal
  bool input_asked_ = false;   // we stopped reading our terminal and asked the monitor to
  bool input_direct_ = false;  // the monitor reads our terminal (escapes come back as notices)
  bool ending_ = false;   // waiting for the monitor to let go of our terminal
  const volatile std::uint64_t* bookmark_ = nullptr;  // direct output's progress, kept by the monitor
  std::array<char, 128 * 1024> socket_buffer_;  // a whole frame of a 64 KiB chunk in one read
  std::array<char, 4096> input_buffer_;
  bool can_write_ = false;
  bool told_read_only_ = false;
  bool halted_ = false;
  bool reconnecting_ = false;
  std::chrono::steady_clock::time_point give_up_;
  std::uint64_t position_ = 0;  // the console offset of the next byte we expect
  int exit_code_ = 0;
  std::string error_;
  std::string farewell_;
};

}  // namespace

std::string help_text(char escape) {
  std::string e = escape_display(escape);
  return fmt::format("[{0}. detach   {0}w who is attached   {0}f take write access   {0}r go read-only   "
                     "{0}p the last screenful again   {0}# or {0}b send a break (serial lines)   {0}? this help   "
                     "{0}{0} send {0}]",
                     e);
}

namespace {

// Copies one direction of `vcon proxy` until end of input.
void relay(asio::posix::stream_descriptor& from, asio::posix::stream_descriptor& to, std::array<char, 65536>& buffer,
           std::function<void()> on_end) {
  from.async_read_some(asio::buffer(buffer), [&, on_end](std::error_code ec, std::size_t n) {
    if (ec) {
      on_end();
      return;
    }
    asio::async_write(to, asio::buffer(buffer.data(), n), [&, on_end](std::error_code wec, std::size_t) {
      if (wec) {
        on_end();
        return;
      }
      relay(from, to, buffer, on_end);
    });
  });
}

}  // namespace

Result<int> console_command(const Paths& paths, const ConsoleOptions& options) {
  VCON_TRY(validate_console_name(options.name));
  // A monitor that refuses a client (too many connections, no access) says
  // why and closes at once: a write of ours that comes after must fail
  // with EPIPE, not end vcon before it has shown why (the ssh transport's
  // child puts the default back).
  ::signal(SIGPIPE, SIG_IGN);
  auto transport = open_transport(paths, options);
  if (!transport) return transport.error();
  auto socket = options.host.empty() ? console_socket(paths, options.name) : Result<std::string>(std::string());
  ConsoleClient client(options, std::move(transport.value()), socket ? *socket : paths.zone_socket(options.name));
  return client.run();
}

Result<int> proxy_command(const Paths& paths, const std::string& name) {
  VCON_TRY(validate_console_name(name));
  // ssh gone (our stdout's reader) is the end, not a death by SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  auto socket = console_socket(paths, name);
  if (!socket) return socket.error();
  auto fd = proto::connect_unix(*socket);
  if (!fd) return fd.error();
  asio::io_context io;
  int socket_fd = fd->release();
  asio::posix::stream_descriptor socket_in(io, socket_fd), socket_out(io, ::dup(socket_fd));
  asio::posix::stream_descriptor stdin_(io, ::dup(0)), stdout_(io, ::dup(1));
  std::array<char, 65536> up, down;
  relay(stdin_, socket_out, up, [&] { ::shutdown(socket_fd, SHUT_WR); });
  relay(socket_in, stdout_, down, [&] { io.stop(); });
  // ssh gone is noticed at once, not at the zone's next output: a quiet
  // console would keep the connection (one of the user's 32) meanwhile.
  stdout_.async_wait(asio::posix::descriptor_base::wait_error, [&](std::error_code ec) {
    if (!ec) io.stop();
  });
  io.run();
  return 0;
}

Result<int> who_command(const Paths& paths, const std::string& name, bool as_json) {
  auto socket = console_socket(paths, name);
  if (!socket) return socket.error();
  auto client = proto::MonitorClient::connect_control(*socket);
  if (!client) return client.error();
  auto answer = client->request({{"op", "who"}}, 10);
  if (!answer) return answer.error();
  json clients = (*answer)["clients"];
  auto more = proto::field_or<unsigned long long>(*answer, "more", 0);
  if (as_json) {
    fmt::print("{}\n", json_text(clients, 2));
    if (more > 0) {
      fmt::print(stderr, "vcon who: {} more clients are attached than the answer lists ({} KiB)\n", more,
                 proto::kWhoBytes / 1024);
    }
    return 0;
  }
  fmt::print("{:<12} {:>8} {:<4} {:<10} {}\n", "USER", "PID", "MODE", "SINCE", "DROPPED");
  for (const auto& c : clients) {
    std::time_t since = static_cast<std::time_t>(proto::field_or<double>(c, "since", 0.0));
    char when[16];
    std::strftime(when, sizeof when, "%H:%M:%S", std::gmtime(&since));
    fmt::print("{:<12} {:>8} {:<4} {:<10} {}\n", proto::field_or<std::string>(c, "user", "?"),
               proto::field_or<long>(c, "pid", 0), proto::field_or<std::string>(c, "mode", "?"), when,
               proto::field_or<unsigned long long>(c, "dropped_bytes", 0));
  }
  if (more > 0) {
    fmt::print("... and {} more, not listed (the monitor's answer holds at most {} KiB)\n", more,
               proto::kWhoBytes / 1024);
  }
  return 0;
}

}  // namespace vcon::cli

namespace vcon::cli {

Result<int> ctl_command(const Paths& paths, const std::string& name, const std::vector<std::string>& words) {
  auto socket = console_socket(paths, name);
  if (!socket) return socket.error();
  auto client = proto::MonitorClient::connect_control(*socket);
  if (!client) return client.error();
  std::string command;
  for (const auto& word : words) command += (command.empty() ? "" : " ") + word;
  auto answer = client->request({{"op", "ctl"}, {"command", command}}, 10);
  if (!answer) return answer.error();
  return 0;
}

}  // namespace vcon::cli
