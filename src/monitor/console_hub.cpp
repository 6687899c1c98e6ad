// ConsoleHub implementation.
#include "base/json_text.hpp"
#include "monitor/console_hub.hpp"

#include "base/clock.hpp"
#include "base/files.hpp"
#include "console/notice_text.hpp"

#include <pwd.h>
#include <sys/socket.h>

#include <chrono>
#include <fmt/chrono.h>
#include <fmt/core.h>

namespace vcon {

namespace {
using json = nlohmann::json;
using proto::FrameType;

std::string clock_time(double seconds) {
  return fmt::format("{:%H:%M:%S} UTC", fmt::gmtime(static_cast<std::time_t>(seconds)));
}

// A client catching up holds at most one slice of the ring at a time,
// copied when it has written the previous one.
constexpr std::size_t kReplaySlice = 64 * 1024;
// ~p looks for the last screenful in this much of the ring.
constexpr std::size_t kScreenTail = 64 * 1024;
}  // namespace

Peer peer_of(int socket) {
  Peer peer;
  peer.uid = static_cast<uid_t>(-1);  // unknown is nobody, never root
  if (auto credentials = peer_credentials(socket)) {
    peer.uid = credentials->uid;
    peer.pid = credentials->pid;
  }
  passwd entry{}, *found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(peer.uid, &entry, buffer, sizeof buffer, &found) == 0 && found) {
    peer.user = found->pw_name;
  } else {
    peer.user = std::to_string(peer.uid);
  }
  return peer;
}

std::string describe(const Peer& peer) {
  return fmt::format("{} (PID {}{})", peer.user, peer.pid, peer.via_fs ? ", file system" : "");
}

std::string ConsoleHub::describe(ClientId id) const { return vcon::describe(clients_.at(id).peer); }

// Root's attach is logged and told at once, and so is one that took the
// write lock (a writer is never unannounced); another user's too while
// their bucket allows (EventThrottle: a burst of 30, then one per 2 s),
// so that no loop of attaches can write the audit log full or flood the
// other clients' terminals. Past that it takes the user's next time, in
// turn, and is logged and told then if the client is still there; one
// gone before gives its time back and is counted (count_short_attach).
// False when not logged now.
bool ConsoleHub::announce(ClientId id, const std::string& line, bool at_once) {
  Client& client = clients_.at(id);
  uid_t uid = client.peer.uid;
  if (uid == 0) {
    port_.log_event(line);
    return true;
  }
  auto now = std::chrono::steady_clock::now();
  auto at = comings_.reserve(uid, now);
  if (at <= now || at_once) {
    port_.log_event(comings_.with_count(uid, line));
    return true;
  }
  client.announced = false;
  client.announce_timer = std::make_unique<asio::steady_timer>(executor_, at);
  client.announce_timer->async_wait([this, id, line](std::error_code ec) {
    if (ec) return;  // the client went (its timer with it): touch nothing
    auto found = clients_.find(id);
    if (found == clients_.end() || found->second.announced) return;
    found->second.announced = true;
    port_.log_event(comings_.with_count(found->second.peer.uid, line));
    json join = coming(id, "join");
    for (auto& [other, client] : clients_) {
      if (other != id) notify(other, join);  // it had its own when it came
    }
  });
  return false;
}

// A client gone before its attach was announced: counted, and the count
// logged once the user may have a line again, unless a line of theirs
// took it along before.
void ConsoleHub::count_short_attach(const Client& client) {
  uid_t uid = client.peer.uid;
  auto now = std::chrono::steady_clock::now();
  comings_.count(uid);
  comings_.give_back(uid, now);
  auto& flush = count_flushes_[uid];
  if (flush) return;  // one is due already
  flush = std::make_unique<asio::steady_timer>(executor_, comings_.next(uid, now));
  flush->async_wait([this, uid, user = client.peer.user](std::error_code ec) {
    if (ec) return;
    count_flushes_.erase(uid);  // the handler was moved out of the timer first; a later short attach arms another
    std::uint64_t times = comings_.take_count(uid);  // told here
    if (times == 0) return;
    comings_.reserve(uid, std::chrono::steady_clock::now());
    port_.log_event(fmt::format("{} (uid {}) attached and left {} times, each before it could be logged", user,
                                uid, times));
  });
}

ConsoleHub::ConsoleHub(ConsolePort& port, asio::any_io_executor executor)
    : port_(port),
      executor_(executor),
      actions_(executor,
               [this](const std::string& user, uid_t uid, std::uint64_t count) {
                 port_.log_event(fmt::format("{} (uid {}) was refused {} takes and breaks, sent too fast", user, uid,
                                             count));
               }),
      whos_(executor, nullptr, 30, std::chrono::milliseconds(250)) {}

// A user's takes and breaks (not root's) come in a burst of 30, then one
// per 2 s: past that they are refused, and told so, rather than each
// written to the audit log and told to every client (a loop of them would
// rotate away what the log keeps, and with force take the console from its
// writer over and over). RateGate logs the count. A release is not: it
// needs a take before it.
bool ConsoleHub::may_act(ClientId id, const char* what) {
  auto wait = actions_.admit(clients_.at(id).peer.uid, clients_.at(id).peer.user);
  if (wait == std::chrono::steady_clock::duration::zero()) return true;
  info(id, fmt::format("{}: too many takes and breaks ({})", what, actions_.why(wait)));
  return false;
}

Result<json> ConsoleHub::who_for(const Peer& peer, std::size_t budget) {
  auto wait = whos_.admit(peer.uid, peer.user);
  if (wait > std::chrono::steady_clock::duration::zero()) {
    return make_error(fmt::format("who: too many requests from {} ({})", peer.user, whos_.why(wait)));
  }
  return who(budget);
}

// A `join` or `leave` notice: who, and who is attached (that one first).
json ConsoleHub::coming(ClientId id, const char* type) const {
  const Peer& peer = clients_.at(id).peer;
  json notice{{"type", type}, {"user", peer.user}, {"pid", peer.pid}};
  add_names(notice, id);
  return notice;
}

// "clients": the names of those attached, `first` first, at most
// proto::kNamesShown of them, and "more": how many others. Every client gets one
// at each join and leave: a list of the whole crowd would make that the
// square of the crowd in bytes, and one notice larger than a client's
// control limit.
void ConsoleHub::add_names(json& message, ClientId first) const {
  json names = json::array();
  if (clients_.count(first)) names.push_back(clients_.at(first).peer.user);
  for (const auto& [id, client] : clients_) {
    if (names.size() == proto::kNamesShown) break;
    if (id != first) names.push_back(client.peer.user);
  }
  std::size_t listed = names.size();
  message["clients"] = std::move(names);
  if (clients_.size() > listed) message["more"] = clients_.size() - listed;
}

// A read-write hello that would take the write lock (it is free, or with
// force) is a take: logged and told at once (a writer is never
// unannounced), and with force it takes the console from its writer. A
// user's (not root's) come in a burst of 30, then one per 2 s, the rest in
// turn: the welcome waits (a script writing through the file system slows
// down rather than fails). One that leaves before its turn gives it back.
void ConsoleHub::attach(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer,
                        const proto::Hello& hello) {
  bool takes = hello.mode == proto::Mode::ReadWrite && (!lock_.holder() || hello.force);
  if (takes && peer.uid != 0) {
    auto now = std::chrono::steady_clock::now();
    if (auto at = takes_.reserve(peer.uid, now); at > now) return wait_turn(std::move(connection), peer, hello, at);
  }
  attach_now(std::move(connection), peer, hello);
}

void ConsoleHub::wait_turn(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer,
                           const proto::Hello& hello, std::chrono::steady_clock::time_point at) {
  std::uint64_t key = next_waiting_++;
  auto timer = std::make_unique<asio::steady_timer>(executor_, at);
  timer->async_wait([this, key](std::error_code ec) {
    if (ec) return;  // it left, its timer with it
    auto found = waiting_.find(key);
    if (found == waiting_.end()) return;
    Waiting turn = std::move(found->second);  // the handler was moved out of the timer first
    waiting_.erase(found);
    attach_now(std::move(turn.connection), turn.peer, turn.hello);
  });
  // Until its welcome a client sends nothing; if it leaves, its turn is the next one's.
  connection->set_handlers([](proto::Frame) {}, [this, key, uid = peer.uid](const std::string&) {
    if (waiting_.erase(key)) takes_.give_back(uid, std::chrono::steady_clock::now());
  });
  waiting_.emplace(key, Waiting{std::move(connection), peer, hello, std::move(timer)});
}

void ConsoleHub::attach_now(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer,
                            const proto::Hello& hello) {
  bool wants_write = hello.mode == proto::Mode::ReadWrite;
  ClientId id = next_id_++;
  clients_[id] = Client{.connection = connection,
                        .peer = peer,
                        .may_write = wants_write,
                        .wants_write = wants_write,
                        .since = wall_clock_seconds()};

  std::optional<ClientId> displaced;
  if (wants_write) {
    std::optional<ClientId> holder = lock_.holder();
    auto outcome = lock_.request(id, hello.force);
    if (outcome.granted) {
      lock_since_ = wall_clock_seconds();
      displaced = outcome.displaced;
    } else if (hello.watch_if_busy) {
      wants_write = false;
      clients_[id].wants_write = false;
    } else {
      const Client& owner = clients_.at(*holder);
      connection->send(FrameType::Error,
                       fmt::format("the console of {} is in use by {} (PID {}) since {}; attach with -r to watch, "
                                   "or with --force to take over",
                                   port_.console_name(), owner.peer.user, owner.peer.pid, clock_time(lock_since_)));
      connection->close_after_send();
      clients_.erase(id);
      return;
    }
  }
  bool told = announce(id, fmt::format("{} attached {}", describe(id), wants_write ? "read-write" : "read-only"),
                       wants_write);
  share_out();

  // Replay, then live: the client reads the ring from `from` as fast as it
  // takes it, and only then gets output as it comes (nothing lost or
  // repeated in between: a single-threaded loop).
  const RingBuffer& ring = port_.ring();
  std::uint64_t replay = std::min<std::uint64_t>(hello.replay, ring.size());
  std::uint64_t from = ring.end_offset() - replay;
  if (hello.from) {  // back after a monitor restart: what it has not seen (feed() says if some is gone)
    from = std::min(*hello.from, ring.end_offset());
    replay = ring.end_offset() - from;
  }
  json welcome{{"version", proto::kVersion},
               {"console", port_.console_name()},
               {"mode", wants_write ? "rw" : "ro"},
               {"replay_from", from},
               {"replay_to", ring.end_offset()}};
  add_names(welcome, id);
  connection->send(FrameType::Welcome, json_text(welcome));
  connection->set_handlers([this, id](proto::Frame frame) { on_frame(id, std::move(frame)); },
                           [this, id](const std::string&) { detach(id); });
  if (replay > 0) {
    clients_[id].cursor = from;
    connection->set_drained_handler([this, id] { feed(id); });
    feed(id);
  }

  if (displaced) {
    port_.log_event(fmt::format("{} took write access from {}", describe(id), describe(*displaced)));
    notify(*displaced, {{"type", "forced"}, {"by_user", peer.user}, {"by_pid", peer.pid}});
    notify(id, {{"type", "took"},
                {"from_user", clients_.at(*displaced).peer.user},
                {"from_pid", clients_.at(*displaced).peer.pid}});
  }
  json join = coming(id, "join");
  // Not yet announced: the others are told when it is (announce()).
  if (told) notice_all(join);
  else notify(id, join);
  if (wants_write && hello.window) port_.resize(hello.window->rows, hello.window->cols);
  port_.clients_changed(clients_.size());  // after the welcome: what it causes is news for this client too
}

void ConsoleHub::on_frame(ClientId id, proto::Frame frame) {
  auto& client = clients_.at(id);
  bool writer = lock_.holder() == id;
  switch (frame.type) {
    case FrameType::Data:
      if (writer) port_.write_input(std::move(frame.payload), client.peer);
      return;  // viewers' keystrokes go nowhere
    case FrameType::Resize:
      if (writer) {
        auto size = proto::parse_window_size(frame.payload);
        if (size) port_.resize(size->rows, size->cols);
        else info(id, size.error().message());
      }
      return;
    case FrameType::Break: {
      if (writer && !may_act(id, "break")) return;  // a ctl break counts with ctl commands
      auto sent = writer ? port_.send_break(describe(id)) : Result<void>(make_error("only the writer may send a break"));
      info(id, sent ? "break sent" : sent.error().message());
      return;
    }
    case FrameType::Request:
      on_request(id, frame.payload);
      return;
    default:
      client.connection->send(FrameType::Error,
                              std::string("unexpected ") + proto::type_name(frame.type) + " frame from an attached client");
      client.connection->close_after_send();
  }
}

void ConsoleHub::on_request(ClientId id, const std::string& payload) {
  Client& client = clients_.at(id);
  auto request = proto::parse_request(payload);
  if (!request) return info(id, request.error().message());
  switch (request->op) {
    case proto::Op::Who: {
      auto answer = who_for(client.peer, proto::kSessionWhoBytes);
      if (!answer) return info(id, answer.error().message());
      client.connection->send(FrameType::Response, json_text(*answer));
      return;
    }
    case proto::Op::Take:
      if (!client.may_write) return info(id, client.peer.user + " has read-only access to this console");
      if (lock_.holder() == id) return info(id, "write access is yours already");
      if (!may_act(id, "take write access")) return;
      client.wants_write = true;
      take_write(id, true);
      return;
    case proto::Op::Release: {
      if (lock_.holder() != id) return info(id, "you were not writing");
      client.wants_write = false;
      auto back = lock_.release(id);
      lock_since_ = wall_clock_seconds();
      port_.log_event(describe(id) + " gave write access up");
      info(id, "read-only now: you watch");
      if (back) {
        port_.log_event(describe(*back) + " has write access again");
        notify(*back, {{"type", "write"}, {"granted", true}});
      }
      return;
    }
    case proto::Op::Direct:
      return ask_direct(id, request.value());
    case proto::Op::Resume:
      if (client.terminal) client.terminal->resume();
      return;
    case proto::Op::Print:
      if (client.terminal && !client.terminal->text(request->command)) too_much_text(id);
      return;
    case proto::Op::Screen:
      return show_last_screen(id, json{{"rows", request->rows}});
    default:
      return info(id, "only who, take, release, direct, resume, print and screen are for an attached client");
  }
}

// The client passed its terminal with the request. Checked and opened again
// here; it is written to once the client has caught up with its replay and
// has written what it got through the socket (resume). With input, it is
// read from now on: the client stopped reading it before it asked.
void ConsoleHub::ask_direct(ClientId id, const proto::Request& request) {
  Client& client = clients_.at(id);
  ForeignFd passed = client.connection->take_received_fd();
  if (client.terminal || client.pending_terminal) return refuse_direct(id, "direct output is on already");
  if (!passed) return refuse_direct(id, "no terminal came with the request");
  auto tty = reopen_client_terminal(passed.get(), TerminalAccess::Write);
  if (!tty) return refuse_direct(id, tty.error().message());
  client.token = request.command;
  if (request.input) {
    // A description of its own for reading: the writer's, write-only, is
    // then not woken by every key typed.
    auto reading = reopen_client_terminal(passed.get(), TerminalAccess::Read);
    if (!reading) return refuse_direct(id, reading.error().message());
    client.input = std::make_unique<TerminalInput>(
        client.connection->executor(), std::move(reading.value()), request.escape,
        [this, id](std::string_view bytes) { typed(id, bytes); },
        [this, id](EscapeParser::Action action) { return escaped(id, action); });
    client.input->start();
  }
  client.pending_terminal = ForeignFd(std::move(tty.value()));
  if (!client.cursor) start_direct(id);
}

// No direct output (and no direct input): the client reads and writes its
// terminal itself.
void ConsoleHub::refuse_direct(ClientId id, const std::string& why) {
  clients_.at(id).connection->send(
      FrameType::Notice, json_text(json{{"type", "direct"}, {"ok", false}, {"input", false}, {"text", why}}));
}

void ConsoleHub::typed(ClientId id, std::string_view bytes) {
  Client& client = clients_.at(id);
  if (lock_.holder() == id) {
    port_.write_input(std::string(bytes), client.peer);
  } else if (!client.told_read_only) {  // as the client says it when it reads its terminal itself
    client.told_read_only = true;
    info(id, "read-only: input is not sent");
  }
}

// What an escape asks for is the client's to do (it asks the monitor, or
// shows something, or leaves); after a detach nothing more is read.
bool ConsoleHub::escaped(ClientId id, EscapeParser::Action action) {
  clients_.at(id).connection->send(FrameType::Notice,
                                   json_text(json{{"type", "escape"}, {"action", escape_action_name(action)}}));
  return action != EscapeParser::Action::Detach;
}

void ConsoleHub::start_direct(ClientId id) {
  Client& client = clients_.at(id);
  std::string token = client.token;
  auto terminal = std::make_shared<TerminalWriter>(
      client.connection->executor(), client.pending_terminal.take(), share().queue,
      [token](std::uint64_t bytes) { return vcon_line(notice_text(json{{"type", "dropped"}, {"bytes", bytes}}), token, true); });
  auto bookmark = terminal->make_bookmark();
  if (!bookmark) {
    client.input.reset();  // the client reads its terminal again
    return refuse_direct(id, bookmark.error().message());
  }
  terminal->pause();  // until the client has written what the socket brought it
  terminal->set_share(share());
  client.terminal = std::move(terminal);
  client.connection->send_with_fd(FrameType::Notice,
                                  json_text(json{{"type", "direct"}, {"ok", true}, {"input", client.input != nullptr}}),
                                  bookmark->release());
}

// ~p: the last screenful of output, from the ring, shown again.
void ConsoleHub::show_last_screen(ClientId id, const json& request) {
  Client& client = clients_.at(id);
  if (!client.terminal) return info(id, "the last screenful is shown by the client itself");
  unsigned rows = std::max(1u, request.value("rows", 24u));
  const RingBuffer& ring = port_.ring();
  std::string tail;
  std::uint64_t span = std::min<std::uint64_t>(ring.size(), kScreenTail);
  ring.read(ring.end_offset() - span, kScreenTail, tail);
  std::size_t start = tail.size();
  for (unsigned lines = 0; start > 0 && lines <= rows;) {
    if (tail[--start] == '\n') ++lines;
  }
  if (!client.terminal->text(vcon_line("[the last screenful again]", client.token, true) +
                             tail.substr(start == 0 ? 0 : start + 1))) {
    too_much_text(id);
  }
}

// A direct client whose terminal does not take vcon's lines any more (its
// reader stopped, while it kept asking for ~p or lines) is let go, as a
// socket client is whose control frames pile up.
void ConsoleHub::too_much_text(ClientId id) {
  clients_.at(id).connection->close("its terminal stopped reading vcon's lines");
}

void ConsoleHub::notify(ClientId id, json notice) {
  Client& client = clients_.at(id);
  if (client.terminal && !client.terminal->failed() && !client.connection->is_closed()) {
    if (!client.terminal->text(vcon_line(notice_text(notice), client.token, true))) return too_much_text(id);
    notice["shown"] = true;
  }
  client.connection->send(FrameType::Notice, json_text(notice));
}

void ConsoleHub::take_write(ClientId id, bool force) {
  auto outcome = lock_.request(id, force);
  if (!outcome.granted) return;
  lock_since_ = wall_clock_seconds();
  const Peer& peer = clients_.at(id).peer;
  if (outcome.displaced) {
    ClientId displaced = *outcome.displaced;
    port_.log_event(fmt::format("{} took write access from {}", describe(id), describe(displaced)));
    notify(displaced, {{"type", "forced"}, {"by_user", peer.user}, {"by_pid", peer.pid}});
    notify(id, {{"type", "took"},
                {"from_user", clients_.at(displaced).peer.user},
                {"from_pid", clients_.at(displaced).peer.pid}});
  } else {
    port_.log_event(describe(id) + " took write access");
    notify(id, {{"type", "write"}, {"granted", true}});
  }
}

void ConsoleHub::feed(ClientId id) {
  auto found = clients_.find(id);
  if (found == clients_.end() || !found->second.cursor) return;
  Client& client = found->second;
  const RingBuffer& ring = port_.ring();
  if (*client.cursor < ring.begin_offset()) {  // the zone wrote faster than it read
    std::uint64_t lost = ring.begin_offset() - *client.cursor;
    notify(id, {{"type", "dropped"}, {"bytes", lost}});
    client.cursor = ring.begin_offset();
  }
  if (*client.cursor < ring.end_offset()) {
    auto slice = std::make_shared<std::string>();
    ring.read(*client.cursor, kReplaySlice, *slice);
    *client.cursor += slice->size();
    client.connection->send_data(std::move(slice));
  }
  if (*client.cursor == ring.end_offset()) {  // caught up: live from here on
    client.cursor.reset();
    client.connection->set_drained_handler(nullptr);
    if (client.pending_terminal) start_direct(id);
  }
}

void ConsoleHub::detach(ClientId id) {
  auto found = clients_.find(id);
  if (found == clients_.end()) return;
  json leave = coming(id, "leave");
  // One never announced (gone within its wait) is only counted.
  bool told = found->second.announced;
  if (told) port_.log_event(describe(id) + " detached");
  else count_short_attach(found->second);
  dropped_by_gone_clients_ += dropped_for(found->second);
  clients_.erase(found);
  share_out();
  if (auto back = lock_.release(id)) {
    lock_since_ = wall_clock_seconds();
    port_.log_event(describe(*back) + " has write access again");
    notify(*back, {{"type", "write"}, {"granted", true}});
  }
  if (told) notice_all(leave);
  port_.clients_changed(clients_.size());
}

void ConsoleHub::broadcast(std::string_view bytes, std::uint64_t end) {
  if (clients_.empty()) return;
  auto chunk = std::make_shared<const std::string>(bytes);
  for (auto& [id, client] : clients_) {
    if (client.connection->is_closed()) continue;  // it left: its terminal is its own again
    if (client.terminal) client.terminal->data(chunk, end);
    else if (!client.cursor) client.connection->send_data(chunk);  // one catching up reads it from the ring
  }
}

void ConsoleHub::notice_all(const json& notice) {
  for (auto& [id, client] : clients_) notify(id, notice);
}

void ConsoleHub::close_all() {
  auto clients = std::move(clients_);
  clients_.clear();
  for (auto& [id, client] : clients) {
    client.connection->set_handlers(nullptr, nullptr);
    client.connection->close_after_send();
  }
  // And the read-write hellos still waiting for their turn (their timers go with them).
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [key, turn] : waiting) {
    turn.connection->set_handlers(nullptr, nullptr);
    turn.connection->close_after_send();
  }
}

void ConsoleHub::share_out() {
  proto::Share each = share();
  for (auto& [id, client] : clients_) {
    client.connection->set_share(each);
    if (client.terminal) client.terminal->set_share(each);
  }
}

std::uint64_t ConsoleHub::dropped_bytes() const {
  std::uint64_t total = dropped_by_gone_clients_;
  for (const auto& [id, client] : clients_) total += dropped_for(client);
  return total;
}

json ConsoleHub::who(std::size_t budget) const {
  json list = json::array();
  std::size_t bytes = 0, more = 0;
  for (const auto& [id, client] : clients_) {
    bool holder = lock_.holder() == id;
    json entry{{"user", client.peer.user},
               {"uid", client.peer.uid},
               {"pid", client.peer.pid},
               {"via", client.peer.via_fs ? "fs" : "socket"},
               {"mode", holder ? "rw" : "ro"},
               {"wants_write", client.wants_write},
               {"since", client.since},
               {"dropped_bytes", dropped_for(client)},
               {"direct", client.terminal != nullptr},
               {"direct_input", client.input != nullptr && !client.input->stopped()}};
    std::size_t size = json_text(entry).size() + 1;
    if (bytes + size > budget && !holder) {
      ++more;
      continue;
    }
    bytes += size;
    list.push_back(std::move(entry));
  }
  json answer{{"clients", std::move(list)}};
  if (more > 0) answer["more"] = more;
  return answer;
}

}  // namespace vcon
