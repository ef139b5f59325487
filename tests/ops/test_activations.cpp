#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;
using unroll::test::uniform;
using Vars = std::vector<Var>;

namespace {
float at(const Var& v, std::size_t i) {
  return v.value().data()[i];
}
}  // namespace

// ------------------------------------------------------------------ forward values

TEST_CASE("activations: forward values at hand-computed points", "[activations]") {
  CHECK(ops::sigmoid(Var(Tensor{0.0f})).item() == Approx(0.5f));
  CHECK(ops::sigmoid(Var(Tensor{2.0f})).item() == Approx(1.0 / (1.0 + std::exp(-2.0))));
  CHECK(ops::sigmoid(Var(Tensor{-3.0f})).item() == Approx(1.0 / (1.0 + std::exp(3.0))));
  CHECK(ops::tanh(Var(Tensor{0.5f})).item() == Approx(0.46211716f));
  CHECK(ops::tanh(Var(Tensor{0.0f})).item() == 0.0f);

  Var r = ops::relu(Var(Tensor{-2.0f, 0.0f, 3.0f}));
  CHECK(test::max_abs_diff(r.value(), Tensor{0.0f, 0.0f, 3.0f}) == 0);
  Var lr = ops::leaky_relu(Var(Tensor{-2.0f, 3.0f}), 0.1f);
  CHECK(at(lr, 0) == Approx(-0.2f));
  CHECK(at(lr, 1) == Approx(3.0f));
  CHECK(ops::leaky_relu(Var(Tensor{-100.0f})).item() == Approx(-1.0f));  // default slope 0.01

  // gelu(1) = Phi(1) = 0.8413447 (erf form); the tanh form is 0.8411920 (PyTorch values).
  CHECK(ops::gelu(Var(Tensor{1.0f})).item() == Approx(0.8413447f).epsilon(1e-6));
  CHECK(ops::gelu(Var(Tensor{-1.0f})).item() == Approx(-0.1586553f).epsilon(1e-5));
  CHECK(ops::gelu(Var(Tensor{1.0f}), ops::GeluApprox::Tanh).item() ==
        Approx(0.8411920f).epsilon(1e-6));
  CHECK(ops::gelu(Var(Tensor{0.0f})).item() == 0.0f);

  CHECK(ops::softplus(Var(Tensor{0.0f})).item() == Approx(std::log(2.0)));
  // beta = 2: log(1 + e^2) / 2.
  CHECK(ops::softplus(Var(Tensor{1.0f}), 2.0f).item() == Approx(std::log1p(std::exp(2.0)) / 2));
  // Above the threshold (beta x = 30 > 20) PyTorch returns x exactly.
  CHECK(ops::softplus(Var(Tensor{15.0f}), 2.0f).item() == 15.0f);
}

TEST_CASE("activations: sigmoid and softplus stay finite at +-1e4, forward and backward",
          "[activations]") {
  Var x(Tensor{-1e4f, 1e4f}, true);
  Var s = ops::sigmoid(x);
  CHECK(at(s, 0) == 0.0f);
  CHECK(at(s, 1) == 1.0f);
  s.backward(xt::ones<float>({2}));
  CHECK(autograd::all_finite(x.grad()));
  x.zero_grad();
  Var p = ops::softplus(x);
  CHECK(at(p, 0) == Approx(0.0f).margin(1e-30));
  CHECK(at(p, 1) == 1e4f);
  p.backward(xt::ones<float>({2}));
  CHECK(autograd::all_finite(x.grad()));
  CHECK(x.grad()(0) == Approx(0.0f).margin(1e-30));
  CHECK(x.grad()(1) == 1.0f);
  // Below the threshold but large: the stable form must not overflow e^(beta x).
  CHECK(std::isfinite(ops::softplus(Var(Tensor{80.0f}), 0.2f).item()));
  CHECK(ops::softplus(Var(Tensor{80.0f}), 0.2f).item() == Approx(std::log1p(std::exp(16.0)) / 0.2));
}

TEST_CASE("activations: gradients at hand-computed points", "[activations]") {
  Var x(Tensor{0.0f, 1.0f, -2.0f}, true);
  ops::sigmoid(x).backward(xt::ones<float>({3}));
  for (std::size_t i = 0; i < 3; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(x.value()(i))));
    CHECK(x.grad()(i) == Approx(s * (1 - s)));
  }
  x.zero_grad();
  ops::relu(x).backward(xt::ones<float>({3}));
  CHECK(test::max_abs_diff(x.grad(), Tensor{0.0f, 1.0f, 0.0f}) == 0);  // 0 at the kink
  x.zero_grad();
  ops::leaky_relu(x, 0.2f).backward(xt::ones<float>({3}));
  CHECK(test::max_abs_diff(x.grad(), Tensor{0.2f, 1.0f, 0.2f}) < 1e-7);
  x.zero_grad();
  ops::softplus(x).backward(xt::ones<float>({3}));  // softplus' = sigmoid
  CHECK(x.grad()(0) == Approx(0.5f));
  // gelu'(0) = Phi(0) = 0.5 in both forms.
  x.zero_grad();
  ops::gelu(x).backward(xt::ones<float>({3}));
  CHECK(x.grad()(0) == Approx(0.5f));
  x.zero_grad();
  ops::gelu(x, ops::GeluApprox::Tanh).backward(xt::ones<float>({3}));
  CHECK(x.grad()(0) == Approx(0.5f));
}

// ------------------------------------------------------------------ gradient checks

TEST_CASE("activations: gradcheck of every activation", "[activations]") {
  const Tensor x = randn({3, 5}, 51);
  // relu/leaky_relu: no element within 0.05 of the kink at 0.
  const Tensor away = xt::where(xt::abs(x) < 0.05f, x + 0.2f, x);
  REQUIRE(xt::amin(xt::abs(away))() > 0.05f);
  CHECK_GRADIENTS([](const Vars& v) { return ops::tanh(v[0]); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::sigmoid(v[0]); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::relu(v[0]); }, {away});
  // x's gradient already holds the product's when relu's backward adds to it.
  CHECK_GRADIENTS(
      [](const Vars& v) {
        Var r = ops::relu(v[0]);  // recorded first, so walked last
        return r + v[0] * v[0];
      },
      {away});
  CHECK_GRADIENTS([](const Vars& v) { return ops::leaky_relu(v[0]); }, {away});
  CHECK_GRADIENTS([](const Vars& v) { return ops::leaky_relu(v[0], 0.3f); }, {away});
  CHECK_GRADIENTS([](const Vars& v) { return ops::gelu(v[0]); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::gelu(v[0], ops::GeluApprox::Tanh); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::softplus(v[0]); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::softplus(v[0], 2.5f); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::softplus(v[0], 0.5f, 1.0f); },
                  {uniform({2, 3}, -3.0f, 1.5f, 52)});  // all below the threshold (beta x < 1)
  // Wider range for the smooth ones, 3-D.
  const Tensor wide = randn({2, 3, 4}, 53, 3.0f);
  CHECK_GRADIENTS([](const Vars& v) { return ops::tanh(v[0]); }, {wide});
  CHECK_GRADIENTS([](const Vars& v) { return ops::sigmoid(v[0]); }, {wide});
  CHECK_GRADIENTS([](const Vars& v) { return ops::gelu(v[0]); }, {wide});
}

TEST_CASE("activations: softplus with beta <= 0 throws ShapeError", "[activations]") {
  Var x(randn({2}), true);
  try {
    ops::softplus(x, 0.0f);
    FAIL("expected ShapeError");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("softplus") != std::string::npos);
  }
}
