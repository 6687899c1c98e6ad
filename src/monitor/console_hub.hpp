// ConsoleHub: the clients attached to one console. Broadcasts console output
// to all of them as shared chunks, keeps the write lock, sends join/leave,
// takeover and zone-state notices out of band, and passes the writer's input
// and window size to the console. Owned by the monitor.
#pragma once

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "console/event_throttle.hpp"
#include "console/rate_gate.hpp"
#include "console/ring_buffer.hpp"
#include "console/write_lock.hpp"
#include "proto/connection.hpp"
#include "proto/messages.hpp"
#include "monitor/terminal_input.hpp"
#include "monitor/terminal_writer.hpp"

namespace vcon {

struct Peer;

// What the hub needs of the console behind it.
class ConsolePort {
 public:
  virtual ~ConsolePort() = default;
  // The writer's keystrokes (`from` for the audit log, when it records input).
  virtual void write_input(std::string bytes, const Peer& from) = 0;
  virtual void resize(unsigned rows, unsigned cols) = 0;
  virtual const RingBuffer& ring() const = 0;
  virtual const std::string& console_name() const = 0;
  // A line for the console's log: who attached, left, took over.
  virtual void log_event(const std::string& text) = 0;
  // The writer asked for a serial break; the error says why there is none.
  virtual Result<void> send_break(const std::string& who) = 0;
  // The number of attached clients changed (serial lines open on demand).
  virtual void clients_changed(std::size_t) {}
};

struct Peer {
  uid_t uid = 0;
  pid_t pid = 0;
  std::string user;
  bool via_fs = false;  // attached through root's file system server, for `user`
};

// SO_PEERCRED of a connected Unix socket, with the user's name.
Peer peer_of(int socket);
// How the log and notices name a client: "alice (PID 812, file system)".
std::string describe(const Peer& peer);

class ConsoleHub {
 public:
  // `executor`: the monitor's loop, for the hub's own timers.
  ConsoleHub(ConsolePort& port, asio::any_io_executor executor);

  // A client said hello in mode "rw" or "ro" (access already checked).
  // Either welcomes and registers it (replay first, then live output, with
  // nothing lost or repeated in between) or sends an error and closes. A
  // "rw" client finding the console in use is refused, or attached as a
  // viewer if its hello says busy: watch.
  void attach(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer, const proto::Hello& hello);
  // Console output for every client: copied once into a chunk they all
  // share, and not at all when nobody is attached. `end`: the console
  // offset after its last byte. Terminals the monitor writes to directly
  // get it first, before anything else is done with it.
  void broadcast(std::string_view bytes, std::uint64_t end);
  // A notice for every client: {"type": "state", "state": ...}.
  void notice_all(const nlohmann::json& notice);
  // Every client gets what is queued, then is disconnected.
  void close_all();
  // The answer to `who`: {"clients": [...]} with one object per client,
  // in attach order, as many as fit in `budget` bytes (the write lock's holder
  // always), and "more": how many did not fit, if any.
  nlohmann::json who(std::size_t budget = proto::kWhoBytes) const;
  // who() for `peer`, as its request asks (an attached client's, with a
  // smaller budget, or a control connection's): a user other than root may
  // ask 30 times in a row, then 4 times a second; past that, the error
  // says when again.
  Result<nlohmann::json> who_for(const Peer& peer, std::size_t budget = proto::kWhoBytes);
  // Join and leave notices and the welcome name proto::kNamesShown
  // clients at most (the one they are about first), and count the rest.
  const std::string& console_name() const { return port_.console_name(); }
  std::size_t size() const { return clients_.size(); }
  // Totals over this console's life: bytes dropped for clients that fell behind.
  std::uint64_t dropped_bytes() const;

 private:
  using ClientId = WriteLock::ClientId;
  struct Client {
    std::shared_ptr<proto::FrameConnection> connection;
    Peer peer;
    bool may_write = false;  // read-write access (a read-only user's client never writes)
    bool wants_write = false;
    double since = 0;
    // Set while the client catches up from the ring (its replay): the next
    // offset it gets. Live output reaches it only once it has caught up.
    std::optional<std::uint64_t> cursor{};
    // Direct output: the monitor writes to the client's terminal itself
    // (docs/monitor.md). Asked for while catching up, it starts once the
    // client has caught up (`pending_terminal`).
    std::shared_ptr<TerminalWriter> terminal{};
    ForeignFd pending_terminal{};
    std::string token{};  // the attach's token, for vcon's lines on that terminal
    // Direct input: the monitor reads the client's terminal too.
    std::unique_ptr<TerminalInput> input{};
    bool told_read_only = false;
    // Its attach logged and told the others (announce()); until then, the
    // wait for its user's next line.
    bool announced = true;
    std::unique_ptr<asio::steady_timer> announce_timer{};
  };

  // attach() once the hello's turn has come (wait_turn).
  void attach_now(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer, const proto::Hello& hello);
  void wait_turn(std::shared_ptr<proto::FrameConnection> connection, const Peer& peer, const proto::Hello& hello,
                 std::chrono::steady_clock::time_point at);
  void on_frame(ClientId id, proto::Frame frame);
  // In-session commands of an attached client (~w ~f ~r).
  void on_request(ClientId id, const std::string& payload);
  // `id` takes the write lock (force: from its holder, who is told).
  void take_write(ClientId id, bool force);
  // The next slice of the ring for a client catching up; it goes live once
  // it reaches the end.
  void feed(ClientId id);
  void detach(ClientId id);
  // Each client's part of what clients may fall behind by (proto::share_of;
  // a terminal the monitor writes to holds as much as a socket client's
  // queue), and giving every client its part after one came or went.
  proto::Share share() const {
    return proto::share_of(clients_.size(), proto::FrameConnection::kDefaultDataLimit);
  }
  void share_out();
  static std::uint64_t dropped_for(const Client& client) {
    return client.connection->dropped_bytes() + (client.terminal ? client.terminal->dropped_bytes() : 0);
  }
  // A notice to one client: on a terminal the monitor writes to, it is
  // shown there in order with the output, and the frame says so ("shown").
  void notify(ClientId id, nlohmann::json notice);
  void too_much_text(ClientId id);
  void info(ClientId id, const std::string& text) { notify(id, {{"type", "info"}, {"text", text}}); }
  // In-session requests of a direct client: take its terminal, start
  // writing to it, show a line, show the last screenful again.
  void ask_direct(ClientId id, const proto::Request& request);
  // Direct input's keystrokes and escapes.
  void typed(ClientId id, std::string_view bytes);
  bool escaped(ClientId id, EscapeParser::Action action);
  void start_direct(ClientId id);
  void refuse_direct(ClientId id, const std::string& why);
  void show_last_screen(ClientId id, const nlohmann::json& request);
  void add_names(nlohmann::json& message, ClientId first) const;
  nlohmann::json coming(ClientId id, const char* type) const;
  std::string describe(ClientId id) const;
  bool announce(ClientId id, const std::string& line, bool at_once);
  void count_short_attach(const Client& client);
  bool may_act(ClientId id, const char* what);

  ConsolePort& port_;
  std::map<ClientId, Client> clients_;  // ordered by arrival
  WriteLock lock_;
  double lock_since_ = 0;
  ClientId next_id_ = 1;
  std::uint64_t dropped_by_gone_clients_ = 0;
  EventThrottle comings_{"short attaches"};
  asio::any_io_executor executor_;
  // A user's takes and breaks: each is logged and told (a take with force
  // takes the console from its writer; a break on a serial line holds the
  // line's loop for its length), so past a burst they are refused
  // (may_act).
  RateGate actions_;
  // A user's read-write attaches that would take the write lock: the same,
  // but past the burst each waits for its turn (wait_turn), by connection.
  EventThrottle takes_{"read-write attaches"};
  struct Waiting {
    std::shared_ptr<proto::FrameConnection> connection;
    Peer peer;
    proto::Hello hello;
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::map<std::uint64_t, Waiting> waiting_;
  std::uint64_t next_waiting_ = 1;
  // A user's `who`: with a crowd attached, one answer is a few hundred KB
  // to build and send.
  RateGate whos_;
  std::map<uid_t, std::unique_ptr<asio::steady_timer>> count_flushes_;  // per user, while a count waits
};

}  // namespace vcon
