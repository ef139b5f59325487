#pragma once
// Value buffers released by the tape (values no backward reads, see Var) wait here for the
// next op output of the same size. A training loop repeats the same sizes every step, so
// after the first step recorded values come from this cache instead of malloc: glibc's
// malloc spends measurable time (2-3% of an LSTM H=256 step) splitting and coalescing
// blocks of these sizes, and page-faults them back in when it has returned them to the OS.

#include <cstddef>

#include "autograd/tensor.hpp"

namespace unroll::autograd {

/// Keep `t`'s buffer for a later value of the same size (or free it when the cache is
/// full); `t` is left with no buffer. Thread-local: no locking.
void cache_value_buffer(Tensor& t) noexcept;
/// Move a cached buffer of exactly `n` elements into `t` (whose own buffer, if of another
/// size, goes to the cache). Returns false, leaving `t` unchanged, when none is cached; the
/// caller's resize then allocates.
bool take_cached_buffer(Tensor& t, std::size_t n) noexcept;
/// Give `t` the shape `shape`, reusing its buffer or a cached one of that size when possible.
template <class S>
void shape_value(Tensor& t, const S& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  if (t.size() != n) take_cached_buffer(t, n);
  t.resize(shape);
}

}  // namespace unroll::autograd
