// The gradient checker checked: it must catch a 1% error in a single gradient element and
// say where it is, for inputs and for parameters, and pass the correct version.
#include <string>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::uniform;
using Vars = std::vector<Var>;

namespace {

// y = a * b element-wise, with the gradient of input `bad_input` scaled by `factor` at flat
// element `bad_index` (factor 1 gives the correct op).
Var scaled_mul(const Var& a, const Var& b, std::size_t bad_input, std::size_t bad_index,
               float factor) {
  return autograd::record("scaled_mul", a.value() * b.value(), {a, b},
                          [=](const autograd::Node& n, autograd::GradSink& g) {
                            for (std::size_t i = 0; i < 2; ++i) {
                              if (!g.needs(i)) continue;
                              Tensor grad = n.grad * n.inputs[1 - i]->value;
                              if (i == bad_input) grad.data()[bad_index] *= factor;
                              g.add(i, std::move(grad));
                            }
                          });
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Values in [1, 3): every analytic gradient element is far above the absolute tolerance,
// so a 1% error exceeds the relative one (4e-3) wherever the element is.
const Tensor kA = uniform({2, 3}, 1.0f, 3.0f, 91);
const Tensor kB = uniform({2, 3}, 1.0f, 3.0f, 92);

}  // namespace

TEST_CASE("gradcheck: passes the correct op", "[gradcheck]") {
  auto f = [](const Vars& v) { return scaled_mul(v[0], v[1], 0, 0, 1.0f); };
  const auto r = autograd::gradcheck(f, {kA, kB});
  INFO(r.report());
  CHECK(r.ok);
  CHECK(r.checked == 12);
  CHECK(contains(r.report(), "passed"));
}

TEST_CASE("gradcheck: a 1% error in one input element is caught and located", "[gradcheck]") {
  // Element [1, 1] (flat 4) of input 1's gradient is 1% too large.
  auto f = [](const Vars& v) { return scaled_mul(v[0], v[1], 1, 4, 1.01f); };
  const auto r = autograd::gradcheck(f, {kA, kB});
  INFO(r.report());
  CHECK_FALSE(r.ok);
  CHECK(r.where == "input 1");
  CHECK(r.index == std::vector<std::size_t>{1, 1});
  CHECK(r.shape == Shape{2, 3});
  CHECK(r.analytic == Approx(1.01 * r.numeric).epsilon(1e-3));
  CHECK(contains(r.report(), "FAILED"));
  CHECK(contains(r.report(), "input 1"));
  CHECK(contains(r.report(), "[1, 1]"));

  // The same error in input 0 at another element is reported there instead.
  auto f0 = [](const Vars& v) { return scaled_mul(v[0], v[1], 0, 2, 1.01f); };
  const auto r0 = autograd::gradcheck(f0, {kA, kB});
  INFO(r0.report());
  CHECK_FALSE(r0.ok);
  CHECK(r0.where == "input 0");
  CHECK(r0.index == std::vector<std::size_t>{0, 2});
}

TEST_CASE("gradcheck: parameters are checked too, and a wrong one is reported by name",
          "[gradcheck]") {
  Var W = Var::parameter(kB);
  auto good = [&](const Vars& v) { return scaled_mul(v[0], W, 1, 0, 1.0f); };
  auto bad = [&](const Vars& v) { return scaled_mul(v[0], W, 1, 5, 1.01f); };

  const auto ok = autograd::gradcheck(good, {kA}, std::vector<Var>{W});
  INFO(ok.report());
  CHECK(ok.ok);
  CHECK(ok.checked == 12);  // 6 input elements + 6 parameter elements

  const auto r = autograd::gradcheck(bad, {kA}, std::vector<Var>{W});
  INFO(r.report());
  CHECK_FALSE(r.ok);
  CHECK(r.where == "parameter 0");
  CHECK(r.index == std::vector<std::size_t>{1, 2});
  CHECK(contains(r.report(), "parameter 0"));
  CHECK(contains(r.report(), "[1, 2]"));

  const auto named = autograd::gradcheck(bad, {kA}, autograd::NamedVars{{"weight", W}});
  INFO(named.report());
  CHECK_FALSE(named.ok);
  CHECK(named.where == "parameter weight");

  // gradcheck leaves the parameter's value and gradient as it found them.
  CHECK(test::max_abs_diff(W.value(), kB) == 0);
  CHECK_FALSE(W.has_grad());

  // Without the parameter in the list the wrong gradient goes unnoticed: the check is real.
  const auto unchecked = autograd::gradcheck(bad, {kA});
  CHECK(unchecked.ok);
}
