// libFuzzer target: nn::parse_safetensors on arbitrary bytes (see safetensors_target.hpp).
// Build and run with `bash scripts/fuzz.sh [seconds]`.
#include "fuzz/safetensors_target.hpp"

/// libFuzzer's entry: one input; the return value is ignored (crashes are the findings).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  unroll::fuzz::safetensors_input(data, size);
  return 0;
}
