#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::max_abs_diff;
using unroll::test::randn;
using unroll::test::uniform;

TEST_CASE("dropout keeps about 1-p of the elements, scaled by exactly 1/(1-p)", "[dropout]") {
  const float p = 0.3f;
  // Inputs in [1, 2): never 0, so a kept element is never mistaken for a dropped one.
  const Tensor xv = uniform({100, 100}, 1.0f, 2.0f, 1);
  Generator gen(123);
  Var y = ops::dropout(Var(xv), p, true, gen);
  REQUIRE(y.shape() == Shape{100, 100});
  std::size_t kept = 0;
  bool scaled = true;
  const double scale = 1.0 / (1.0 - 0.3);
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const float v = y.value().data()[i];
    if (v == 0.0f) continue;
    ++kept;
    scaled = scaled && std::abs(v - xv.data()[i] * scale) <= 1e-6 * std::abs(v);
  }
  CHECK(scaled);
  // Binomial(10000, 0.7): sd = sqrt(10000 * 0.7 * 0.3) = 46, so +-200 is > 4 sd.
  CHECK(kept > 7000 - 200);
  CHECK(kept < 7000 + 200);
}

TEST_CASE("dropout: eval and p = 0 are the identity, p = 1 zeros", "[dropout]") {
  Var x(randn({3, 4}, 2), true);
  CHECK(ops::dropout(x, 0.5f, false).node() == x.node());
  CHECK(ops::dropout(x, 0.0f, true).node() == x.node());
  CHECK(ops::dropout(x, 1.0f, false).node() == x.node());

  Var z = ops::dropout(x, 1.0f, true);
  CHECK(max_abs_diff(z.value(), xt::zeros<float>({3, 4})) == 0);
  z.backward(xt::ones<float>({3, 4}));
  CHECK(max_abs_diff(x.grad(), xt::zeros<float>({3, 4})) == 0);
}

TEST_CASE("dropout: the same seed gives the same mask; backward uses that mask", "[dropout]") {
  const Tensor xv = uniform({8, 16}, 1.0f, 2.0f, 3);
  Generator g1(42), g2(42), g3(43);
  Var a(xv, true);
  Var y1 = ops::dropout(a, 0.5f, true, g1);
  Var y2 = ops::dropout(Var(xv), 0.5f, true, g2);
  Var y3 = ops::dropout(Var(xv), 0.5f, true, g3);
  CHECK(max_abs_diff(y1.value(), y2.value()) == 0);
  CHECK(max_abs_diff(y1.value(), y3.value()) > 0);

  // dL/dx = seed * mask: 2 where kept (1 / (1 - 0.5)), 0 where dropped.
  y1.backward(xt::ones<float>({8, 16}));
  bool ok = true;
  for (std::size_t i = 0; i < xv.size(); ++i)
    ok = ok && a.grad().data()[i] == (y1.value().data()[i] != 0.0f ? 2.0f : 0.0f);
  CHECK(ok);

  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        Generator g(7);  // a fixed mask, so f is deterministic as gradcheck requires
        return ops::dropout(v[0], 0.4f, true, g);
      },
      {randn({3, 5}, 4)});
}

TEST_CASE("dropout rejects p outside [0, 1] with ShapeError naming the op", "[dropout]") {
  Var x(randn({2, 2}, 5));
  for (float p : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    CHECK_THROWS_AS(ops::dropout(x, p, true), unroll::ShapeError);
    CHECK_THROWS_WITH(ops::dropout(x, p, true), Catch::Contains("dropout"));
  }
  CHECK_THROWS_AS(ops::dropout(x, 2.0f, false), unroll::ShapeError);  // checked in eval too
}
