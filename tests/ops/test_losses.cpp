#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using ops::Reduction;
using unroll::test::finite;
using unroll::test::max_abs_diff;
using unroll::test::message_of;
using unroll::test::randn;
using unroll::test::uniform;

namespace {

// Float32 outputs of size ~1 carry ~1e-7 of rounding; over the default step 1e-3 that is
// ~1e-4 of noise in the central difference, as large as the tolerance (the analytic
// gradients agree with a double-precision reference to 1e-7). A 1e-2 step keeps the noise
// 10x below the tolerance; the truncation error (~eps^2) stays ~1e-5 for these smooth ops.
const autograd::GradCheckOptions kStep{.eps = 1e-2};

// -log softmax(z)[t] per row in double: the reference the fused op must match.
std::vector<double> ce_reference(const Tensor& z, const IndexTensor& t, std::size_t C) {
  std::vector<double> out(t.size());
  for (std::size_t r = 0; r < t.size(); ++r) {
    double m = -1e300, s = 0;
    for (std::size_t c = 0; c < C; ++c) m = std::max(m, double(z.data()[r * C + c]));
    for (std::size_t c = 0; c < C; ++c) s += std::exp(double(z.data()[r * C + c]) - m);
    out[r] = m + std::log(s) - z.data()[r * C + t.data()[r]];
  }
  return out;
}

}  // namespace

TEST_CASE("cross_entropy: closed forms and reductions", "[losses]") {
  // Uniform logits over C classes: ln C whatever the target.
  Var u(Tensor(xt::zeros<float>({4, 5})));
  const IndexTensor t = {0, 4, 2, 2};
  CHECK(ops::cross_entropy(u, t).shape() == Shape{});
  CHECK(ops::cross_entropy(u, t).item() == Approx(std::log(5.0)));
  CHECK(ops::cross_entropy(u, t, Reduction::Sum).item() == Approx(4 * std::log(5.0)));
  const Var none = ops::cross_entropy(u, t, Reduction::None);
  CHECK(none.shape() == Shape{4});
  CHECK(max_abs_diff(none.value(), Tensor(xt::ones<float>({4}) * std::log(5.0f))) < 1e-6);

  // softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6: target 2 costs ln 2, target 0 costs ln 6.
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var z(Tensor{{0.0f, l2, l3}, {0.0f, l2, l3}});
  const Var per = ops::cross_entropy(z, IndexTensor{2, 0}, Reduction::None);
  CHECK(per.value()(0) == Approx(std::log(2.0)));
  CHECK(per.value()(1) == Approx(std::log(6.0)));
  CHECK(ops::cross_entropy(z, IndexTensor{2, 0}).item() ==
        Approx((std::log(2.0) + std::log(6.0)) / 2));

  // Unbatched: logits [C] with a 0-d target.
  IndexTensor scalar_t = xt::empty<std::int64_t>(std::vector<std::size_t>{});
  scalar_t() = 1;
  CHECK(ops::cross_entropy(Var(Tensor{0.0f, l2, l3}), scalar_t).item() == Approx(std::log(3.0)));
}

TEST_CASE("cross_entropy backward is (softmax - onehot) / count", "[losses]") {
  Var u(Tensor(xt::zeros<float>({2, 4})), true);
  ops::cross_entropy(u, IndexTensor{1, 3}).backward();
  const float q = 0.25f / 2, h = (0.25f - 1) / 2;
  CHECK(max_abs_diff(u.grad(), Tensor{{q, h, q, q}, {q, q, q, h}}) < 1e-7);
}

TEST_CASE("cross_entropy with leading axes: logits [..., C], target [...]", "[losses]") {
  const Tensor z = randn({2, 3, 4}, 5, 2.0f);
  const IndexTensor t = {{0, 3, 1}, {2, 2, 0}};
  const std::vector<double> ref = ce_reference(z, t, 4);
  const Tensor none = ops::cross_entropy(Var(z), t, Reduction::None).value();
  REQUIRE(shape_of(none) == Shape{2, 3});
  double sum = 0;
  for (std::size_t r = 0; r < 6; ++r) {
    CHECK(none.data()[r] == Approx(ref[r]).epsilon(1e-5));
    sum += ref[r];
  }
  CHECK(ops::cross_entropy(Var(z), t, Reduction::Sum).item() == Approx(sum).epsilon(1e-5));
  CHECK(ops::cross_entropy(Var(z), t).item() == Approx(sum / 6).epsilon(1e-5));
  // The fused op agrees with the composed nll_loss(log_softmax(z)).
  CHECK(ops::nll_loss(ops::log_softmax(Var(z)), t).item() == Approx(sum / 6).epsilon(1e-5));
}

TEST_CASE("cross_entropy ignore_index: mean over counted targets, zero gradient", "[losses]") {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var z(Tensor{{0.0f, l2, l3}, {5.0f, 1.0f, -2.0f}}, true);
  Var loss = ops::cross_entropy(z, IndexTensor{2, -100});
  CHECK(loss.item() == Approx(std::log(2.0)));  // divided by 1, not 2
  loss.backward();
  // Row 0: softmax - onehot(2) = [1/6, 2/6, -1/2]; row 1 ignored.
  CHECK(max_abs_diff(z.grad(), Tensor{{1 / 6.0f, 2 / 6.0f, -0.5f}, {0, 0, 0}}) < 1e-6);

  const Var none = ops::cross_entropy(z, IndexTensor{2, -100}, Reduction::None);
  CHECK(max_abs_diff(none.value(), Tensor{l2, 0.0f}) < 1e-6);
  // A custom ignore_index; -100 is then an ordinary (out of range) class.
  CHECK(ops::cross_entropy(z, IndexTensor{1, 2}, Reduction::Mean, 1).item() ==
        Approx(ce_reference(z.value(), IndexTensor{0, 2}, 3)[1]));
  CHECK_THROWS_AS(ops::cross_entropy(z, IndexTensor{2, -100}, Reduction::Mean, 1), ShapeError);

  // Every target ignored: Mean is 0 with a zero gradient (PyTorch would give NaN).
  Var w(randn({2, 3}), true);
  Var all = ops::cross_entropy(w, IndexTensor{-100, -100});
  CHECK(all.item() == 0.0f);
  all.backward();
  CHECK(max_abs_diff(w.grad(), Tensor(xt::zeros<float>({2, 3}))) == 0);
}

TEST_CASE("cross_entropy is finite at logits of +-1e4", "[losses]") {
  Var z(Tensor{{1e4f, -1e4f, 0.0f}, {1e4f, -1e4f, 0.0f}}, true);
  Var l = ops::cross_entropy(z, IndexTensor{1, 0}, Reduction::None);
  CHECK(finite(l.value()));
  CHECK(l.value()(0) == Approx(2e4f));
  CHECK(l.value()(1) == 0.0f);
  l.backward(Tensor{1.0f, 1.0f});
  CHECK(finite(z.grad()));
  CHECK(max_abs_diff(z.grad(), Tensor{{1, -1, 0}, {0, 0, 0}}) < 1e-6);
}

TEST_CASE("cross_entropy and nll_loss gradients match finite differences", "[losses]") {
  const Tensor z2 = randn({5, 7}, 31, 1.5f);
  const IndexTensor t2 = {0, 6, 3, -100, 3};
  const Tensor z3 = randn({2, 3, 4}, 32, 1.5f);
  const IndexTensor t3 = {{1, 0, 3}, {2, -100, 2}};
  const IndexTensor t3b = {{1, 0, 3}, {2, 3, 2}};  // 3 is ignored below, -100 would be invalid
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    INFO("reduction " << static_cast<int>(r));
    CHECK_GRADIENTS([=](const std::vector<Var>& v) { return ops::cross_entropy(v[0], t2, r); },
                    {z2}, autograd::NamedVars{}, kStep);
    CHECK_GRADIENTS([=](const std::vector<Var>& v) { return ops::cross_entropy(v[0], t3, r); },
                    {z3}, autograd::NamedVars{}, kStep);
    CHECK_GRADIENTS([=](const std::vector<Var>& v) { return ops::nll_loss(v[0], t2, r); }, {z2},
                    autograd::NamedVars{}, kStep);
    CHECK_GRADIENTS([=](const std::vector<Var>& v) { return ops::nll_loss(v[0], t3, r); }, {z3},
                    autograd::NamedVars{}, kStep);
    // Custom ignore_index 3.
    CHECK_GRADIENTS([=](const std::vector<Var>& v) { return ops::cross_entropy(v[0], t3b, r, 3); },
                    {z3}, autograd::NamedVars{}, kStep);
    // Fan-out: the loss backward adds into a gradient v * 0.5 already wrote (linear, so the
    // summed output stays small and its float rounding does not swamp the difference).
    CHECK_GRADIENTS(
        [=](const std::vector<Var>& v) {
          Var a = ops::cross_entropy(v[0], t2, r);
          Var b = ops::nll_loss(v[0], t2, r);
          Var c = v[0] * 0.5f;
          return ops::sum(a) + ops::sum(b) + ops::sum(c);
        },
        {z2}, autograd::NamedVars{}, kStep);
  }
}

TEST_CASE("nll_loss: hand values and gradient", "[losses]") {
  Var lp(Tensor{{-1.0f, -2.0f, -3.0f}, {-0.5f, -1.5f, -2.5f}}, true);
  const IndexTensor t = {2, 0};
  CHECK(ops::nll_loss(lp, t).item() == Approx(1.75));
  CHECK(ops::nll_loss(lp, t, Reduction::Sum).item() == Approx(3.5));
  CHECK(max_abs_diff(ops::nll_loss(lp, t, Reduction::None).value(), Tensor{3.0f, 0.5f}) == 0);
  CHECK(ops::nll_loss(lp, IndexTensor{2, -100}).item() == Approx(3.0));
  ops::nll_loss(lp, t).backward();
  CHECK(max_abs_diff(lp.grad(), Tensor{{0, 0, -0.5f}, {-0.5f, 0, 0}}) == 0);
}

TEST_CASE("class losses reject bad targets with a ShapeError naming the op", "[losses]") {
  Var z(randn({3, 5}));
  CHECK_THROWS_AS(ops::cross_entropy(z, IndexTensor{0, 1}), ShapeError);               // [2] vs [3]
  CHECK_THROWS_AS(ops::cross_entropy(z, IndexTensor{{0, 1, 2}}), ShapeError);          // [1, 3]
  CHECK_THROWS_AS(ops::cross_entropy(z, IndexTensor{0, 5, 1}), ShapeError);            // C = 5
  CHECK_THROWS_AS(ops::cross_entropy(z, IndexTensor{0, -1, 1}), ShapeError);           // negative
  CHECK_THROWS_AS(ops::cross_entropy(Var(Tensor(1.0f)), IndexTensor{0}), ShapeError);  // rank 0
  CHECK_THROWS_AS(ops::nll_loss(z, IndexTensor{0, 1}), ShapeError);
  CHECK_THROWS_AS(ops::nll_loss(z, IndexTensor{0, 1, 7}), ShapeError);

  CHECK_THAT(message_of([&] {
               ops::cross_entropy(z, IndexTensor{0, 1});
             }),
             Catch::Contains("cross_entropy") && Catch::Contains("[2]") && Catch::Contains("[3]") &&
                 Catch::Contains("[3, 5]"));
  CHECK_THAT(message_of([&] {
               ops::cross_entropy(z, IndexTensor{0, 5, 1});
             }),
             Catch::Contains("cross_entropy") && Catch::Contains("index 5") &&
                 Catch::Contains("position [1]") && Catch::Contains("C = 5"));
  CHECK_THAT(
      message_of([&] {
        ops::cross_entropy(Var(randn({2, 2, 4})), IndexTensor{{0, 1}, {2, 9}});
      }),
      Catch::Contains("index 9") && Catch::Contains("position [1, 1]") && Catch::Contains("C = 4"));
  CHECK_THAT(message_of([&] {
               ops::nll_loss(z, IndexTensor{0, 1, 7});
             }),
             Catch::Contains("nll_loss") && Catch::Contains("index 7") &&
                 Catch::Contains("position [2]") && Catch::Contains("C = 5"));
}

TEST_CASE("mse_loss: values, gradients for input and target, shape errors", "[losses]") {
  Var x(Tensor{1.0f, 2.0f, 3.0f}, true);
  Var t(Tensor{0.0f, 2.0f, 5.0f}, true);
  Var l = ops::mse_loss(x, t);
  CHECK(l.item() == Approx(5.0 / 3));
  CHECK(ops::mse_loss(x, t, Reduction::Sum).item() == Approx(5.0));
  CHECK(max_abs_diff(ops::mse_loss(x, t, Reduction::None).value(), Tensor{1, 0, 4}) == 0);
  l.backward();
  // d/dx = 2 (x - t) / 3, d/dt = -d/dx
  CHECK(max_abs_diff(x.grad(), Tensor{2 / 3.0f, 0, -4 / 3.0f}) < 1e-6);
  CHECK(max_abs_diff(t.grad(), Tensor{-2 / 3.0f, 0, 4 / 3.0f}) < 1e-6);

  const Tensor a = randn({2, 3}, 41), b = randn({2, 3}, 42);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    INFO("reduction " << static_cast<int>(r));
    CHECK_GRADIENTS([r](const std::vector<Var>& v) { return ops::mse_loss(v[0], v[1], r); }, {a, b},
                    autograd::NamedVars{}, kStep);
  }

  CHECK_THROWS_AS(ops::mse_loss(Var(randn({2, 3})), Var(randn({3, 2}))), ShapeError);
  CHECK_THROWS_AS(ops::mse_loss(Var(randn({3})), Var(randn({1, 3}))), ShapeError);
  CHECK_THAT(message_of([] {
               ops::mse_loss(Var(randn({2, 3})), Var(randn({3, 2})));
             }),
             Catch::Contains("mse_loss") && Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
}

TEST_CASE("binary_cross_entropy_with_logits: closed forms, extremes, gradients", "[losses]") {
  const double sp2 = std::log1p(std::exp(-2.0));  // log(1 + e^-2)
  Var x(Tensor{0.0f, 2.0f, -2.0f, 2.0f});
  Var t(Tensor{0.3f, 1.0f, 0.0f, 0.0f});
  const Tensor l = ops::binary_cross_entropy_with_logits(x, t, Reduction::None).value();
  CHECK(l(0) == Approx(std::log(2.0)));
  CHECK(l(1) == Approx(sp2));
  CHECK(l(2) == Approx(sp2));
  CHECK(l(3) == Approx(2.0 + sp2));
  CHECK(ops::binary_cross_entropy_with_logits(x, t).item() ==
        Approx((std::log(2.0) + 3 * sp2 + 2.0) / 4));
  CHECK(ops::binary_cross_entropy_with_logits(x, t, Reduction::Sum).item() ==
        Approx(std::log(2.0) + 3 * sp2 + 2.0));

  // +-1e4: no overflow; the loss is 0 or |x| and the gradient sigmoid(x) - t.
  Var e(Tensor{1e4f, -1e4f, 1e4f, -1e4f}, true);
  Var et(Tensor{1.0f, 1.0f, 0.0f, 0.0f});
  Var el = ops::binary_cross_entropy_with_logits(e, et, Reduction::None);
  CHECK(max_abs_diff(el.value(), Tensor{0.0f, 1e4f, 1e4f, 0.0f}) == 0);
  el.backward(Tensor{1, 1, 1, 1});
  CHECK(max_abs_diff(e.grad(), Tensor{0, -1, 1, 0}) == 0);

  const Tensor a = randn({3, 4}, 51, 2.0f);
  const Tensor soft = uniform({3, 4}, 0.1f, 0.9f, 52);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    INFO("reduction " << static_cast<int>(r));
    CHECK_GRADIENTS(
        [r](const std::vector<Var>& v) {
          return ops::binary_cross_entropy_with_logits(v[0], v[1], r);
        },
        {a, soft}, autograd::NamedVars{}, kStep);
  }

  CHECK_THROWS_AS(ops::binary_cross_entropy_with_logits(Var(randn({4})), Var(randn({4, 1}))),
                  ShapeError);
  CHECK_THAT(message_of([] {
               ops::binary_cross_entropy_with_logits(Var(randn({4})), Var(randn({4, 1})));
             }),
             Catch::Contains("binary_cross_entropy_with_logits") && Catch::Contains("[4, 1]"));
}
