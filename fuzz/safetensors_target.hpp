#pragma once
// What the safetensors fuzzer does with one input; tests/reliability/test_fuzz_corpus.cpp
// replays the saved corpus through the same function with the normal build.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <variant>

#include "nn/safetensors.hpp"

namespace unroll::fuzz {

/// Parses `data` as a safetensors image and reads every element of every tensor (so a
/// tensor that claims more bytes than it owns shows up under AddressSanitizer). Returns
/// true if it loaded, false if it was rejected with nn::FormatError; any other exception
/// escapes (a bug: bad input must give a FormatError naming the problem), as does a
/// std::logic_error when a loaded tensor's element count differs from its shape.
inline bool safetensors_input(const std::uint8_t* data, std::size_t size) {
  nn::SafetensorsFile f;
  try {
    f = nn::parse_safetensors(data, size, "fuzz-input");
  } catch (const nn::FormatError&) {
    return false;
  }
  double sum = 0;
  for (const auto& [name, t] : f.tensors) {
    if (numel(t.shape) !=
        (t.is_float() ? std::get<Tensor>(t.data).size() : std::get<IndexTensor>(t.data).size()))
      throw std::logic_error("tensor '" + name +
                             "' holds a different element count than its shape " +
                             shape_str(t.shape));
    if (t.is_float())
      for (float v : std::get<Tensor>(t.data)) sum += std::isfinite(v) ? v : 0.0;
    else
      for (std::int64_t v : std::get<IndexTensor>(t.data)) sum += static_cast<double>(v & 1);
    (void)f.at(name);
  }
  volatile double sink = sum;  // keeps the reads from being optimised away
  (void)sink;
  return true;
}

}  // namespace unroll::fuzz
