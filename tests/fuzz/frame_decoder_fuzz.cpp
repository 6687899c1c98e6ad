// libFuzzer: the frame decoder, fed in pieces, with a limit from the input.
// Every frame it yields must be within the limit and re-encode to its bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t limit = 5 + data[0] * 64;
  std::size_t piece = 1 + data[1] % 17;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  vcon::proto::FrameDecoder decoder(limit);
  std::string reencoded;
  std::size_t fed = 0;
  while (fed < input.size()) {
    decoder.feed(input.substr(fed, piece));
    fed += piece;
    while (auto frame = decoder.next()) {
      if (!*frame) return 0;  // a malformed stream: the connection is dropped
      if (frame->value().payload.size() + 1 > limit) std::abort();
      vcon::proto::encode(frame->value().type, frame->value().payload, reencoded);
    }
  }
  if (input.substr(0, reencoded.size()) != reencoded) std::abort();
  return 0;
}
