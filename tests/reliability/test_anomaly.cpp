// Bad numbers, part 2: anomaly mode names the FIRST op that produced NaN/Inf, in the forward
// pass (creation order) and in the backward walk (reverse order), even when other ops around
// it are fine. tests/autograd/test_tape.cpp has the one-op cases (log(-1), sqrt'(0)); these
// are chains, where naming the wrong neighbour would be the bug.

#include <cmath>
#include <string>

#include "helpers.hpp"

using namespace unroll;

namespace {
// The AnomalyError message `f` raises; "" if it raises none.
template <class F>
std::string anomaly_of(F&& f) {
  try {
    f();
  } catch (const AnomalyError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("anomaly mode, forward: the first op giving NaN/Inf is named, with its position",
          "[reliability][anomaly]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  autograd::AnomalyGuard on(true);
  Var x(Tensor{2.0f, -1.0f}, true);

  // 3x = [6, -3] is fine (tape position 0); log(-3) is NaN (position 1); exp would follow.
  const std::string log_msg = anomaly_of([&] { ops::exp(ops::log(x * 3.0f)); });
  INFO(log_msg);
  CHECK(log_msg.find("forward of op 'log' at tape position 1") != std::string::npos);
  CHECK(log_msg.find("[2]") != std::string::npos);  // the input shape
  tape.clear();

  // e^100 = 2.7e43 > FLT_MAX (3.4e38): Inf from 'exp', after a finite 'mul_scalar'.
  const std::string exp_msg = anomaly_of([&] { ops::exp(x * 50.0f); });
  INFO(exp_msg);
  CHECK(exp_msg.find("forward of op 'exp'") != std::string::npos);
  tape.clear();

  // 1 / 0 = Inf from 'div'.
  Var zero(Tensor{0.0f, 1.0f});
  const std::string div_msg = anomaly_of([&] { ops::sum(x / zero); });
  INFO(div_msg);
  CHECK(div_msg.find("forward of op 'div'") != std::string::npos);
}

TEST_CASE("anomaly mode, backward: the op whose gradient first turns NaN/Inf is named",
          "[reliability][anomaly]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  autograd::AnomalyGuard on(true);

  SECTION("sqrt at 0 inside a chain: sum and mul_scalar pass finite gradients, sqrt does not") {
    // s = sum(2 sqrt(x)), x = [0, 4]. Forward: [0, 2] -> [0, 4] -> 4, all finite. Backward:
    // ds/dz = 1, ds/dy = 2, ds/dx = 2 * 0.5 / sqrt(x) = [Inf, 0.5]: the first Inf is sqrt's.
    Var x(Tensor{0.0f, 4.0f}, true);
    Var s = ops::sum(ops::sqrt(x) * 2.0f);
    CHECK(s.item() == 4.0f);
    const std::string msg = anomaly_of([&] { s.backward(); });
    INFO(msg);
    CHECK(msg.find("backward of op 'sqrt'") != std::string::npos);
    CHECK(msg.find("mul_scalar") == std::string::npos);
  }
  SECTION("div by a tiny denominator: finite forward, Inf gradient for the denominator") {
    // a / b with a = 1, b = 1e-30: forward 1e30 is finite; d/db = -a / b^2 = -1e60, which
    // overflows float to -Inf. The message names 'div' and input 1 (the denominator).
    Var a(Tensor{1.0f}, true), b(Tensor{1e-30f}, true);
    Var y = ops::sum(a / b);
    CHECK(std::isfinite(y.item()));
    const std::string msg = anomaly_of([&] { y.backward(); });
    INFO(msg);
    CHECK(msg.find("backward of op 'div'") != std::string::npos);
    CHECK(msg.find("gradient of input 1") != std::string::npos);
  }
  SECTION("after an anomaly the tape is clean: a finite backward on a new graph works") {
    Var x(Tensor{0.0f}, true);
    Var s = ops::sum(ops::sqrt(x));
    CHECK_FALSE(anomaly_of([&] { s.backward(); }).empty());
    tape.clear();
    x.zero_grad();
    Var t = ops::sum(x * 3.0f);  // d/dx = 3
    t.backward();
    CHECK(x.grad()(0) == 3.0f);
  }
}
