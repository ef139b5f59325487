#pragma once
// Shared test helpers: deterministic random tensors and one-line gradient checks.

#include <catch2/catch.hpp>

#include "unroll.hpp"

namespace unroll::test {

/// Deterministic normal tensor for test inputs.
inline Tensor randn(const Shape& s, std::uint64_t seed = 1, float scale = 1.0f) {
  Generator g(seed);
  return g.normal_tensor(s, 0.0f, scale);
}
/// Deterministic uniform tensor in [lo, hi).
inline Tensor uniform(const Shape& s, float lo, float hi, std::uint64_t seed = 1) {
  Generator g(seed);
  return g.uniform_tensor(s, lo, hi);
}

/// Max |a - b| (shapes must match; a mismatch fails the test).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(shape_of(a) == shape_of(b));
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, static_cast<double>(std::abs(a.data()[i] - b.data()[i])));
  return m;
}

}  // namespace unroll::test

/// One gradient check: f maps the input Vars to an output Var.
#define CHECK_GRADIENTS(f, ...)                                                       \
  do {                                                                                \
    auto gc_result_ = ::unroll::autograd::gradcheck(f, __VA_ARGS__);                  \
    INFO(gc_result_.report());                                                        \
    CHECK(gc_result_.ok);                                                             \
  } while (0)
