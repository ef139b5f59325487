#pragma once
// One element-wise loop body for both SIMD batches and the scalar tail. Optimizer updates
// need sqrt and max, which GCC will not auto-vectorise without -fno-math-errno; writing the
// body once over a generic type T (xsimd::batch<float> or float) keeps one formula per
// optimizer and gives full-width vectors.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

// GCC 12 flags the deliberate `__Y = __Y` of _mm512_undefined_ps inside _mm512_sqrt_ps and
// _mm512_max_ps as maybe-uninitialized once inlined here: a known false positive. Only the
// optimizer .cpp files include this header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace unroll::optim::simd {

using Batch = xsimd::batch<float>;

/// Calls body(i, std::type_identity<T>{}) for i = 0, W, 2W, ... with T = Batch (W lanes
/// at i), then for the remaining i with T = float (one element).
template <class F>
inline void loop(std::size_t n, F&& body) {
  constexpr std::size_t W = Batch::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) body(i, std::type_identity<Batch>{});
  for (; i < n; ++i) body(i, std::type_identity<float>{});
}

/// The T at p (W lanes or one element).
template <class T>
inline T load(const float* p) {
  if constexpr (std::is_same_v<T, float>)
    return *p;
  else
    return Batch::load_unaligned(p);
}
inline void store(float* p, float v) {
  *p = v;
}
inline void store(float* p, const Batch& v) {
  v.store_unaligned(p);
}

inline float sqrt(float x) {
  return std::sqrt(x);
}
inline Batch sqrt(const Batch& x) {
  return xsimd::sqrt(x);
}
inline float max(float a, float b) {
  return std::max(a, b);
}
inline Batch max(const Batch& a, const Batch& b) {
  return xsimd::max(a, b);
}

}  // namespace unroll::optim::simd
