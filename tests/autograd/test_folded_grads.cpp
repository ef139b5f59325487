// The backward of a sigmoid or tanh whose only consumer is another op is folded into that
// op's backward (GradSink::add_through). These tests check the gradients against closed
// forms and finite differences, where the fold happens and where it must not.
#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;

namespace {
double sig(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}
const Tensor kX = {0.5f, -1.25f, 2.0f};
const Tensor kY = {1.5f, -0.75f, 0.25f};

// The node's gradient buffer: a 3-element gradient stays in the node after it is passed on,
// so an empty one means the node was never differentiated (its backward was folded).
std::size_t grad_buffer_size(const Var& v) {
  return v.node()->grad.size();
}
}  // namespace

TEST_CASE("folded sigmoid and tanh backwards give the closed-form gradients", "[tape][fold]") {
  for (const bool use_tanh : {false, true}) {
    Var x(kX, true), y(kY, true);
    Var s = use_tanh ? ops::tanh(x) : ops::sigmoid(x);
    ops::sum(s * y).backward();
    for (std::size_t i = 0; i < 3; ++i) {
      const double xv = kX(i), yv = kY(i);
      const double sv = use_tanh ? std::tanh(xv) : sig(xv);
      const double local = use_tanh ? 1.0 - sv * sv : sv * (1.0 - sv);
      CHECK(x.grad()(i) == Approx(yv * local).epsilon(1e-5));  // d/dx sum(f(x) y) = y f'(x)
      CHECK(y.grad()(i) == Approx(sv).epsilon(1e-5));
    }
    CHECK(grad_buffer_size(s) == 0);  // folded into mul's backward
  }
}

TEST_CASE("a sigmoid with two consumers is differentiated as usual", "[tape][fold]") {
  // L = sum(s*y + s): ds = y + 1 arrives in two parts, so mul cannot fold s's backward.
  Var x(kX, true), y(kY, true);
  Var s = ops::sigmoid(x);
  ops::sum(s * y + s).backward();
  for (std::size_t i = 0; i < 3; ++i) {
    const double sv = sig(kX(i));
    CHECK(x.grad()(i) == Approx((kY(i) + 1.0) * sv * (1.0 - sv)).epsilon(1e-5));
  }
  CHECK(grad_buffer_size(s) == 3);
}

TEST_CASE("a sigmoid's gradient may arrive part folded, part through its own backward",
          "[tape][fold]") {
  // a = s + y is recorded between s and m = s*y, so the walk runs m's backward (which folds
  // its part y of ds) before a's (which hands its part 1 to s): dx = (y + 1) s(1 - s).
  Var x(kX, true), y(kY, true);
  Var s = ops::sigmoid(x);
  Var a = s + y;
  Var m = s * y;
  (ops::sum(a) + ops::sum(m)).backward();
  for (std::size_t i = 0; i < 3; ++i) {
    const double sv = sig(kX(i));
    CHECK(x.grad()(i) == Approx((kY(i) + 1.0) * sv * (1.0 - sv)).epsilon(1e-5));
    CHECK(y.grad()(i) == Approx(1.0 + sv).epsilon(1e-5));
  }
  CHECK(grad_buffer_size(s) == 3);  // a's part went through s's own backward
}

TEST_CASE("a retained sigmoid gradient is kept, not folded away", "[tape][fold]") {
  Var x(kX, true), y(kY, true);
  Var s = ops::sigmoid(x);
  s.retain_grad();
  ops::sum(s * y).backward();
  CHECK(test::max_abs_diff(s.grad(), kY) < 1e-7);  // dL/ds = y
  for (std::size_t i = 0; i < 3; ++i) {
    const double sv = sig(kX(i));
    CHECK(x.grad()(i) == Approx(kY(i) * sv * (1.0 - sv)).epsilon(1e-5));
  }
}

TEST_CASE("anomaly mode differentiates every op (nothing folded), with the same gradients",
          "[tape][fold][anomaly]") {
  Var x(kX, true), y(kY, true);
  autograd::AnomalyGuard anomaly(true);
  Var s = ops::tanh(x);
  ops::sum(s * y).backward();
  CHECK(grad_buffer_size(s) == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const double t = std::tanh(kX(i));
    CHECK(x.grad()(i) == Approx(kY(i) * (1.0 - t * t)).epsilon(1e-5));
  }
}

TEST_CASE("gate arithmetic with folded backwards matches finite differences", "[tape][fold]") {
  // An LSTM cell's element-wise part, and a tanh of a sigmoid (tanh's backward folds the
  // sigmoid's), over two steps so that c feeds the next step.
  auto cell = [](const std::vector<Var>& v) {
    Var c = v[4];
    Var h;
    for (int t = 0; t < 2; ++t) {
      c = ops::sigmoid(v[1]) * c + ops::sigmoid(v[0]) * ops::tanh(v[2]);
      h = ops::sigmoid(v[3]) * ops::tanh(c);
    }
    return h * ops::tanh(ops::sigmoid(v[0]));
  };
  CHECK_GRADIENTS(cell, {randn({2, 3}, 11), randn({2, 3}, 12), randn({2, 3}, 13), randn({2, 3}, 14),
                         randn({2, 3}, 15)});
}
