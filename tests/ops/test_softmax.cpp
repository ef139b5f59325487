#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::finite;
using unroll::test::max_abs_diff;
using unroll::test::message_of;
using unroll::test::randn;

namespace {

// Float32 outputs of size ~1 carry ~1e-7 of rounding; over the default step 1e-3 that is
// ~1e-4 of noise in the central difference, as large as the tolerance (the analytic
// gradients agree with a double-precision reference to 1e-7). A 1e-2 step keeps the noise
// 10x below the tolerance; the truncation error (~eps^2) stays ~1e-5 for these smooth ops.
const autograd::GradCheckOptions kStep{.eps = 1e-2};

}  // namespace

TEST_CASE("softmax and log_softmax: closed forms on the last axis", "[softmax]") {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var x(Tensor{0.0f, l2, l3});
  CHECK(max_abs_diff(ops::softmax(x).value(), Tensor{1 / 6.0f, 2 / 6.0f, 3 / 6.0f}) < 1e-7);
  CHECK(max_abs_diff(ops::log_softmax(x).value(),
                     Tensor{std::log(1 / 6.0f), std::log(2 / 6.0f), std::log(3 / 6.0f)}) < 1e-6);
  // Shifting every logit leaves the result unchanged.
  Var shifted(Tensor{{100.0f, 100.0f + l2, 100.0f + l3}, {-50.0f, -50.0f + l2, -50.0f + l3}});
  const Tensor want = {{1 / 6.0f, 2 / 6.0f, 3 / 6.0f}, {1 / 6.0f, 2 / 6.0f, 3 / 6.0f}};
  CHECK(max_abs_diff(ops::softmax(shifted, 1).value(), want) < 1e-5);
}

TEST_CASE("softmax along a leading axis normalises columns", "[softmax]") {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var x(Tensor{{0.0f, 0.0f}, {l2, l3}});
  CHECK(max_abs_diff(ops::softmax(x, 0).value(),
                     Tensor{{1 / 3.0f, 1 / 4.0f}, {2 / 3.0f, 3 / 4.0f}}) < 1e-7);
  CHECK(max_abs_diff(ops::log_softmax(x, -2).value(),
                     Tensor{{std::log(1 / 3.0f), std::log(1 / 4.0f)},
                            {std::log(2 / 3.0f), std::log(3 / 4.0f)}}) < 1e-6);

  // Every axis of a 3-D tensor: slices along the axis sum to 1, and exp(log_softmax) agrees.
  const Tensor r = randn({3, 4, 5}, 7, 3.0f);
  for (int axis = 0; axis < 3; ++axis) {
    INFO("axis " << axis);
    const Tensor y = ops::softmax(Var(r), axis).value();
    const Tensor s = ops::sum(Var(y), {axis}).value();
    CHECK(max_abs_diff(s, xt::ones<float>(s.shape())) < 1e-6);
    const Tensor ly = ops::log_softmax(Var(r), axis).value();
    CHECK(max_abs_diff(Tensor(xt::exp(ly)), y) < 1e-6);
  }
}

TEST_CASE("softmax is stable at +-1e4 and uniform on equal rows", "[softmax]") {
  Var x(Tensor{{1e4f, -1e4f, 0.0f}, {-1e4f, -1e4f, -1e4f}, {1e4f, 1e4f, 1e4f}, {2, 2, 2}});
  const Tensor y = ops::softmax(x).value();
  CHECK(finite(y));
  const float third = 1 / 3.0f;
  CHECK(max_abs_diff(y, Tensor{{1, 0, 0},
                               {third, third, third},
                               {third, third, third},
                               {third, third, third}}) < 1e-7);
  const Tensor ly = ops::log_softmax(x).value();
  CHECK(finite(ly));
  CHECK(ly(0, 0) == 0.0f);
  CHECK(ly(0, 1) == Approx(-2e4f));
  CHECK(ly(0, 2) == Approx(-1e4f));
  CHECK(ly(3, 1) == Approx(-std::log(3.0f)));
  CHECK(ly(2, 0) == Approx(-std::log(3.0f)));

  // Same along axis 0 (the strided path).
  const Tensor y0 = ops::softmax(Var(Tensor{{1e4f, 5}, {-1e4f, 5}}), 0).value();
  CHECK(max_abs_diff(y0, Tensor{{1, 0.5f}, {0, 0.5f}}) < 1e-7);

  // Gradients at the extremes are finite too.
  Var e(Tensor{{1e4f, -1e4f, 0.0f}}, true);
  Var s = ops::softmax(e);
  s.backward(Tensor{{1.0f, 2.0f, 3.0f}});
  CHECK(finite(e.grad()));
  Var e2(Tensor{{1e4f, -1e4f, 0.0f}}, true);
  ops::log_softmax(e2).backward(Tensor{{1.0f, 2.0f, 3.0f}});
  // dx = g - softmax * sum(g) = [1, 2, 3] - [1, 0, 0] * 6
  CHECK(max_abs_diff(e2.grad(), Tensor{{-5, 2, 3}}) < 1e-6);
}

TEST_CASE("softmax backward: closed form y (g - sum g y)", "[softmax]") {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var x(Tensor{0.0f, l2, l3}, true);
  ops::softmax(x).backward(Tensor{1.0f, 0.0f, 0.0f});
  // y = [1, 2, 3]/6, sum g y = 1/6: dx = y * (g - 1/6) = [5/36, -2/36, -3/36]
  CHECK(max_abs_diff(x.grad(), Tensor{5 / 36.0f, -2 / 36.0f, -3 / 36.0f}) < 1e-7);
}

TEST_CASE("softmax and log_softmax gradients match finite differences", "[softmax]") {
  const Tensor x3 = randn({3, 4, 5}, 17, 1.5f);
  for (int axis : {0, 1, 2, -1, -2, -3}) {
    INFO("axis " << axis);
    CHECK_GRADIENTS([axis](const std::vector<Var>& v) { return ops::softmax(v[0], axis); }, {x3},
                    autograd::NamedVars{}, kStep);
    CHECK_GRADIENTS([axis](const std::vector<Var>& v) { return ops::log_softmax(v[0], axis); },
                    {x3}, autograd::NamedVars{}, kStep);
  }
  const Tensor x2 = randn({2, 7}, 18, 2.0f);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::softmax(v[0]); }, {x2},
                  autograd::NamedVars{}, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::log_softmax(v[0], 0); }, {x2},
                  autograd::NamedVars{}, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::softmax(v[0]); }, {randn({6}, 19)},
                  autograd::NamedVars{}, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::log_softmax(v[0]); },
                  {randn({6}, 20)}, autograd::NamedVars{}, kStep);
  // Long rows: the 8-accumulator dot product and SIMD exp with a remainder.
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::softmax(v[0]); },
                  {randn({2, 37}, 21)}, autograd::NamedVars{}, kStep);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::log_softmax(v[0]); },
                  {randn({2, 37}, 22)}, autograd::NamedVars{}, kStep);
}

TEST_CASE("softmax backward adds into an existing gradient (fan-out)", "[softmax]") {
  auto fan = [](bool log, int axis) {
    return [log, axis](const std::vector<Var>& v) {
      Var a = log ? ops::log_softmax(v[0], axis) : ops::softmax(v[0], axis);
      Var b = v[0] * v[0];
      return a * 2.0f + b;
    };
  };
  const Tensor x = randn({3, 4}, 23);
  for (bool log : {false, true})
    for (int axis : {0, 1}) {
      INFO("log " << log << " axis " << axis);
      CHECK_GRADIENTS(fan(log, axis), {x}, autograd::NamedVars{}, kStep);
    }
}

TEST_CASE("softmax rejects a bad axis with a ShapeError naming the op", "[softmax]") {
  Var x(randn({2, 3, 4}));
  CHECK_THROWS_AS(ops::softmax(x, 3), ShapeError);
  CHECK_THROWS_AS(ops::softmax(x, -4), ShapeError);
  CHECK_THROWS_AS(ops::log_softmax(x, 3), ShapeError);
  CHECK_THROWS_AS(ops::log_softmax(x, -4), ShapeError);
  CHECK_THROWS_AS(ops::softmax(Var(Tensor(1.0f))), ShapeError);
  CHECK_THAT(message_of([&] { ops::softmax(x, 3); }),
             Catch::Contains("softmax") && Catch::Contains("axis 3") && Catch::Contains("rank 3"));
  CHECK_THAT(message_of([&] { ops::log_softmax(x, -4); }), Catch::Contains("log_softmax") &&
                                                               Catch::Contains("axis -4") &&
                                                               Catch::Contains("rank 3"));
}
