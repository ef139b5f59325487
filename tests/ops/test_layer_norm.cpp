#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using unroll::test::finite;
using unroll::test::max_abs_diff;
using unroll::test::randn;

namespace {

const autograd::GradCheckOptions kStep{.eps = 1e-2};
const autograd::NamedVars kNone;

}  // namespace

TEST_CASE("layer_norm: closed form on one row", "[layernorm]") {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  Var x(Tensor{{1.0f, 2.0f, 3.0f, 4.0f}});
  const float s = 1.0f / std::sqrt(1.25f);
  Var y = ops::layer_norm(x, Var(), Var(), 1, 0.0f);
  CHECK(max_abs_diff(y.value(), Tensor{{-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s}}) < 1e-6);
  // With an affine: y * w + b element-wise.
  Var w(Tensor{2.0f, 1.0f, -1.0f, 0.5f}), b(Tensor{0.0f, 1.0f, 2.0f, 3.0f});
  Var ya = ops::layer_norm(x, w, b, 1, 0.0f);
  CHECK(max_abs_diff(ya.value(), Tensor{{-3.0f * s, -0.5f * s + 1, -0.5f * s + 2, 0.75f * s + 3}}) <
        1e-6);
  // eps enters under the square root: eps = 0.75 makes the denominator sqrt(2).
  Var ye = ops::layer_norm(x, Var(), Var(), 1, 0.75f);
  CHECK(std::abs(ye.value()(0, 3) - 1.5f / std::sqrt(2.0f)) < 1e-6);
}

TEST_CASE("layer_norm over two axes normalises each [D1, D2] block", "[layernorm]") {
  Tensor xt = randn({3, 2, 4}, 5, 2.0f);
  Var y = ops::layer_norm(Var(xt), Var(), Var(), 2, 1e-5f);
  for (std::size_t r = 0; r < 3; ++r) {
    double m = 0, v = 0;
    for (std::size_t i = 0; i < 8; ++i) m += y.value().data()[r * 8 + i];
    for (std::size_t i = 0; i < 8; ++i) v += std::pow(y.value().data()[r * 8 + i] - m / 8, 2);
    CHECK(std::abs(m / 8) < 1e-6);
    CHECK(std::abs(v / 8 - 1.0) < 1e-4);
  }
}

TEST_CASE("layer_norm passes gradcheck with and without the affine", "[layernorm]") {
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::layer_norm(v[0], v[1], v[2]); },
                  {randn({3, 5}, 1), randn({5}, 2), randn({5}, 3)}, kNone, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::layer_norm(v[0], Var(), Var()); },
                  {randn({2, 3, 4}, 4)}, kNone, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::layer_norm(v[0], v[1], Var()); },
                  {randn({4, 3}, 5), randn({3}, 6)}, kNone, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::layer_norm(v[0], Var(), v[1]); },
                  {randn({4, 3}, 7), randn({3}, 8)}, kNone, kStep);
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) { return ops::layer_norm(v[0], v[1], v[2], 2, 1e-3f); },
      {randn({2, 3, 4}, 9), randn({3, 4}, 10), randn({3, 4}, 11)}, kNone, kStep);
  // x used twice (fan-out) and the output reused: the tape's accumulation with beta = 1.
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        Var y = ops::layer_norm(v[0], v[1], v[2]);
        return ops::layer_norm(y * v[0], v[1], v[2]) + y;
      },
      {randn({3, 4}, 12), randn({4}, 13), randn({4}, 14)}, kNone, kStep);
}

TEST_CASE("layer_norm is stable at zero variance and at +-1e4", "[layernorm]") {
  // A constant row has xhat = 0: the output is the bias, gradients finite.
  Var x(Tensor{{3.0f, 3.0f, 3.0f}, {-2.0f, 0.0f, 2.0f}}, true);
  Var w(Tensor{1.0f, 2.0f, 3.0f}, true), b(Tensor{0.5f, -0.5f, 1.5f}, true);
  Var y = ops::layer_norm(x, w, b);
  CHECK(max_abs_diff(xt::view(y.value(), 0), Tensor{0.5f, -0.5f, 1.5f}) == 0.0);
  ops::sum(y * Var(randn({2, 3}, 3))).backward();
  CHECK(finite(x.grad()));
  CHECK(finite(w.grad()));
  // At zero variance dL/dx = rstd * (gw - mean(gw)) with rstd = 1/sqrt(eps): sums to 0.
  CHECK(std::abs(x.grad()(0, 0) + x.grad()(0, 1) + x.grad()(0, 2)) < 1e-2);

  // Layer norm is shift-invariant: values and gradients at x + 1e4 and x - 1e4 equal those at
  // x (up to the float spacing of 1e4, ~1e-3, divided by the row's std ~1).
  Tensor base = randn({2, 6}, 4);
  Tensor seed = randn({2, 6}, 5);
  Var x0(base, true);
  Var y0 = ops::layer_norm(x0, Var(), Var());
  ops::sum(y0 * Var(seed)).backward();
  for (float shift : {1e4f, -1e4f}) {
    Var xs(Tensor(base + shift), true);
    Var ys = ops::layer_norm(xs, Var(), Var());
    ops::sum(ys * Var(seed)).backward();
    CHECK(max_abs_diff(ys.value(), y0.value()) < 5e-3);
    CHECK(max_abs_diff(xs.grad(), x0.grad()) < 5e-3);
  }
}

TEST_CASE("layer_norm shape errors name the op and the shapes", "[layernorm]") {
  Var x(randn({2, 3}, 1));
  CHECK_THROWS_WITH(ops::layer_norm(x, Var(Tensor{1.0f, 1.0f}), Var()),
                    Contains("layer_norm") && Contains("[2, 3]") && Contains("[2]"));
  CHECK_THROWS_AS(ops::layer_norm(x, Var(), Var(randn({3, 1}, 2))), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(x, Var(), Var(), 0), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(x, Var(), Var(), 3), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(x, Var(), Var(), 1, -1.0f), ShapeError);
}

TEST_CASE("nn::LayerNorm: PyTorch names, initial values and checks", "[layernorm]") {
  nn::LayerNorm ln({3, 4});
  auto named = ln.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[1].first == "bias");
  CHECK(shape_of(ln.weight.value()) == Shape{3, 4});
  CHECK(max_abs_diff(ln.weight.value(), xt::ones<float>(Shape{3, 4})) == 0.0);
  CHECK(max_abs_diff(ln.bias.value(), xt::zeros<float>(Shape{3, 4})) == 0.0);
  // Fresh affine (w = 1, b = 0): the same as the bare normalisation.
  Var x(randn({2, 3, 4}, 3));
  CHECK(max_abs_diff(ln(x).value(), ops::layer_norm(x, Var(), Var(), 2).value()) < 1e-7);
  CHECK(nn::LayerNorm({5}, 1e-5f, false).named_parameters().empty());
  CHECK_THROWS_WITH(ln(Var(randn({2, 4, 3}, 4))),
                    Contains("LayerNorm") && Contains("[2, 4, 3]") && Contains("[3, 4]"));
  CHECK_THROWS_AS(nn::LayerNorm(Shape{}), ShapeError);
}
