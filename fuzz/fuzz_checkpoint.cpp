// libFuzzer target: optim::load_checkpoint on arbitrary bytes into a small model,
// optimizer, schedule and generator (see checkpoint_target.hpp). Build and run with
// `bash scripts/fuzz.sh [seconds]`.
#include "fuzz/checkpoint_target.hpp"

/// libFuzzer's entry: one input; the return value is ignored (crashes are the findings).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  unroll::fuzz::checkpoint_input(data, size);
  return 0;
}
