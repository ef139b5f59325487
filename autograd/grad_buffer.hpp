#pragma once
// Internal to the engine (autograd/tape.cpp, autograd/grad_sink.cpp): how gradient buffers are
// compared, kept and emptied.

#include <cstddef>

#include "autograd/tensor.hpp"

namespace unroll::autograd::detail {

// Inline loop: the svector operator== goes through a memcmp call, measurable at ~100 ns/op.
inline bool same_shape(const Tensor::shape_type& x, const Tensor::shape_type& y) {
  if (x.size() != y.size()) return false;
  for (std::size_t k = 0; k < x.size(); ++k)
    if (x[k] != y[k]) return false;
  return true;
}

// Gradients up to this many elements stay with their node between uses (Tape::retire_grad).
inline constexpr std::size_t kKeepGradElements = 256;

// `t` lost its storage (moved out): give it the matching empty shape.
inline void mark_empty(Tensor& t) {
  t.resize(Tensor::shape_type{0});
}

}  // namespace unroll::autograd::detail
