// Giving memory back to the system once a burst of work is over (a zone's
// boot, a flood of clients): what an idle monitor keeps is what one costs,
// times every zone on the host (bench/fleet).
#pragma once

namespace vcon {

// malloc_trim(0), and the pages of the main thread's stack below the
// caller's frame (with a margin for what runs next): a boot goes deep, an
// idle event loop does not. Call it from a shallow frame (the event loop's
// handlers); pages below come back zero-filled if they are needed again.
void give_back_memory();

}  // namespace vcon
