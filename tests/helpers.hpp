#pragma once
// Shared test helpers: deterministic random tensors and one-line gradient checks.

#include <cmath>
#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xbuilder.hpp>

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

/// x reshaped to s: single-element inner braces ({{1}, {2}}) are ambiguous for xtensor, so
/// tests build flat and reshape.
template <class T>
T shaped(T t, const Shape& s) {
  t.reshape(s);
  return t;
}

/// A float tensor of shape s from a flat row-major list: shaped({1, 2, 3, 4}, {4, 1}).
inline Tensor shaped(std::vector<float> values, const Shape& s) {
  Tensor t = xt::adapt(values, s);
  return t;
}

/// 0, 1, 2, ... in row-major order: expected values can be read off by hand.
inline Tensor iota(const Shape& s) {
  Tensor t = xt::arange<float>(static_cast<float>(numel(s)));
  t.reshape(s);
  return t;
}

/// The message of the ShapeError f throws ("" if it throws none).
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "";
}

/// Whether every element is finite.
inline bool finite(const Tensor& t) {
  for (float v : t)
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace unroll::test

/// The expression throws a ShapeError whose message names the op.
#define CHECK_SHAPE_ERROR(expr, op)               \
  do {                                            \
    CHECK_THROWS_AS(expr, unroll::ShapeError);    \
    CHECK_THROWS_WITH(expr, Catch::Contains(op)); \
  } while (0)

/// One gradient check: f maps the input Vars to an output Var.
#define CHECK_GRADIENTS(f, ...)                                      \
  do {                                                               \
    auto gc_result_ = ::unroll::autograd::gradcheck(f, __VA_ARGS__); \
    INFO(gc_result_.report());                                       \
    CHECK(gc_result_.ok);                                            \
  } while (0)
