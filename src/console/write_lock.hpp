// WriteLock: who may type into a console. One writer at a time (libvirt's
// and conserver's exclusive access): the first read-write client holds it, a
// second is refused unless it forces, which makes the holder a viewer that
// gets the lock back when the taker leaves (conserver's hand-back). Pure
// logic over client ids; the monitor does the telling.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vcon {

class WriteLock {
 public:
  using ClientId = std::uint64_t;

  struct Outcome {
    bool granted = false;
    std::optional<ClientId> displaced;  // forced: this client lost the lock
  };

  std::optional<ClientId> holder() const { return holder_; }

  // A read-write client asks for the lock.
  Outcome request(ClientId client, bool force);
  // A client leaves (or drops to read-only). Returns who gets the lock back,
  // if anyone: the most recently displaced client still waiting.
  std::optional<ClientId> release(ClientId client);

 private:
  std::optional<ClientId> holder_;
  std::vector<ClientId> displaced_;  // oldest first
};

}  // namespace vcon
