// Bad numbers, part 1: the numerically delicate ops stay finite at extreme inputs (+-1e4,
// +-1e30, all-equal rows, zero-variance rows), forward AND backward. Every expected value is
// worked out by hand in the comment beside it; the ops' own existing tests cover +-1e4 for
// some of them, these add +-1e30, exact gradient values, tanh and attention.

#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace unroll;
using ops::Reduction;
using unroll::test::finite;
using unroll::test::max_abs_diff;
using unroll::test::shaped;

namespace {
constexpr float kBig = 1e30f;
}  // namespace

TEST_CASE("softmax and log_softmax at +-1e4 and +-1e30: exact values and gradients",
          "[reliability][extreme]") {
  // softmax([1e4, 0]) = [1, e^-1e4] = [1, 0] in float; log_softmax = [0, -1e4].
  Var a(Tensor{1e4f, 0.0f}, true);
  CHECK(max_abs_diff(ops::softmax(a).value(), Tensor{1, 0}) == 0);
  CHECK(max_abs_diff(ops::log_softmax(a).value(), Tensor{0, -1e4f}) == 0);

  // Rows: [1e30, -1e30, 0] -> [1, 0, 0]; three equal rows (+1e30, -1e30, 0) -> 1/3 each.
  const Tensor x = {{kBig, -kBig, 0.0f}, {kBig, kBig, kBig}, {-kBig, -kBig, -kBig}, {0, 0, 0}};
  const float third = 1.0f / 3.0f, lthird = -std::log(3.0f);
  Var v(x, true);
  Var y = ops::softmax(v);
  REQUIRE(finite(y.value()));
  CHECK(max_abs_diff(y.value(), Tensor{{1, 0, 0},
                                       {third, third, third},
                                       {third, third, third},
                                       {third, third, third}}) < 1e-7);
  // Softmax backward dx = y (g - sum(g y)); g = [1, 2, 3] on every row.
  //   row 0: y = [1, 0, 0], sum g y = 1 -> dx = [0, 0, 0]
  //   equal rows: sum g y = 2 -> dx = [-1, 0, 1] / 3
  const Tensor g = {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}};
  y.backward(g);
  REQUIRE(finite(v.grad()));
  CHECK(max_abs_diff(
            v.grad(),
            Tensor{{0, 0, 0}, {-third, 0, third}, {-third, 0, third}, {-third, 0, third}}) < 1e-6);

  // log_softmax: row 0 = x - 1e30 = [0, -2e30, -1e30]; equal rows -ln 3 each.
  Var w(x, true);
  Var ly = ops::log_softmax(w);
  REQUIRE(finite(ly.value()));
  CHECK(ly.value()(0, 0) == 0.0f);
  CHECK(ly.value()(0, 1) == -2e30f);
  CHECK(ly.value()(0, 2) == -kBig);
  for (std::size_t r = 1; r < 4; ++r)
    for (std::size_t c = 0; c < 3; ++c) CHECK(ly.value()(r, c) == Approx(lthird));
  // log_softmax backward dx = g - softmax * sum(g), sum(g) = 6:
  //   row 0: [1 - 6, 2, 3]; equal rows: [1, 2, 3] - 2 = [-1, 0, 1].
  ly.backward(g);
  REQUIRE(finite(w.grad()));
  CHECK(max_abs_diff(w.grad(), Tensor{{-5, 2, 3}, {-1, 0, 1}, {-1, 0, 1}, {-1, 0, 1}}) < 1e-6);
}

TEST_CASE("cross_entropy at +-1e30 and on all-equal rows", "[reliability][extreme]") {
  // loss = logsumexp(z) - z_t.  Row [1e30, -1e30, 0]: logsumexp = 1e30, so t = 1 gives 2e30 and
  // t = 0 gives 0. Row [1e30, 1e30, 1e30]: logsumexp = 1e30 + ln 3, so t = 2 gives ln 3.
  Var z(Tensor{{kBig, -kBig, 0.0f}, {kBig, -kBig, 0.0f}, {kBig, kBig, kBig}}, true);
  Var l = ops::cross_entropy(z, IndexTensor{1, 0, 2}, Reduction::None);
  REQUIRE(finite(l.value()));
  CHECK(l.value()(0) == 2e30f);
  CHECK(l.value()(1) == 0.0f);
  CHECK(l.value()(2) == Approx(std::log(3.0f)));
  // d loss / dz = softmax(z) - onehot(t).
  l.backward(Tensor{1, 1, 1});
  REQUIRE(finite(z.grad()));
  const float third = 1.0f / 3.0f;
  CHECK(max_abs_diff(z.grad(), Tensor{{1, -1, 0}, {0, 0, 0}, {third, third, -2 * third}}) < 1e-6);
}

TEST_CASE("logsumexp of all-equal rows at 1e30: value 1e30, gradient 1/C",
          "[reliability][extreme]") {
  // logsumexp([c, c, c]) = c + ln 3, which is 1e30 in float for c = 1e30 and 1e4 + ln 3 for
  // c = 1e4; its gradient is softmax = [1/3, 1/3, 1/3] either way (was [1, 1, 1] at 1e30).
  Var x(Tensor{{kBig, kBig, kBig}, {1e4f, 1e4f, 1e4f}, {kBig, -kBig, 0.0f}}, true);
  Var y = ops::logsumexp(x, 1);
  REQUIRE(finite(y.value()));
  CHECK(y.value()(0) == kBig);
  CHECK(y.value()(1) == Approx(1e4 + std::log(3.0)).epsilon(1e-7));
  CHECK(y.value()(2) == kBig);
  y.backward(Tensor{1, 1, 1});
  const float third = 1.0f / 3.0f;
  CHECK(max_abs_diff(x.grad(), Tensor{{third, third, third}, {third, third, third}, {1, 0, 0}}) <
        1e-6);
  // Along axis 0 (the strided path): the columns are the same rows.
  Var xt0(Tensor{{kBig, 1e4f}, {kBig, 1e4f}, {kBig, 1e4f}}, true);
  ops::logsumexp(xt0, 0).backward(Tensor{1, 1});
  CHECK(max_abs_diff(xt0.grad(), Tensor(xt::full_like(xt0.value(), third))) < 1e-6);
}

TEST_CASE("sigmoid, tanh and softplus at +-1e4 and +-1e30: values and exact gradients",
          "[reliability][extreme]") {
  const Tensor x = {-kBig, -1e4f, 1e4f, kBig};
  SECTION("sigmoid: 0 and 1, gradient y (1 - y) = 0") {
    Var v(x, true);
    Var y = ops::sigmoid(v);
    CHECK(max_abs_diff(y.value(), Tensor{0, 0, 1, 1}) == 0);
    y.backward(xt::ones<float>({4}));
    CHECK(max_abs_diff(v.grad(), Tensor{0, 0, 0, 0}) == 0);
  }
  SECTION("tanh: -1 and 1, gradient 1 - y^2 = 0") {
    Var v(x, true);
    Var y = ops::tanh(v);
    CHECK(max_abs_diff(y.value(), Tensor{-1, -1, 1, 1}) == 0);
    y.backward(xt::ones<float>({4}));
    CHECK(max_abs_diff(v.grad(), Tensor{0, 0, 0, 0}) == 0);
  }
  SECTION("softplus: log(1 + e^x) is 0 for x << 0 and x for x >> 0; gradient sigmoid(x)") {
    Var v(x, true);
    Var y = ops::softplus(v);
    REQUIRE(finite(y.value()));
    CHECK(max_abs_diff(y.value(), Tensor{0, 0, 1e4f, kBig}) == 0);
    y.backward(xt::ones<float>({4}));
    CHECK(max_abs_diff(v.grad(), Tensor{0, 0, 1, 1}) == 0);
  }
  SECTION("binary_cross_entropy_with_logits: max(x,0) - x t + log1p(e^-|x|)") {
    // x = -1e30, t = 1: 0 + 1e30 + 0 = 1e30; x = 1e30, t = 1: 1e30 - 1e30 = 0;
    // x = 1e30, t = 0: 1e30. Gradient sigmoid(x) - t = -1, 0, 1.
    Var v(Tensor{-kBig, kBig, kBig}, true);
    Var l = ops::binary_cross_entropy_with_logits(v, Var(Tensor{1, 1, 0}), Reduction::None);
    REQUIRE(finite(l.value()));
    CHECK(max_abs_diff(l.value(), Tensor{kBig, 0, kBig}) == 0);
    l.backward(xt::ones<float>({3}));
    CHECK(max_abs_diff(v.grad(), Tensor{-1, 0, 1}) == 0);
  }
}

TEST_CASE("layer_norm: constant rows give beta, huge spreads normalise, gradients finite",
          "[reliability][extreme]") {
  SECTION("a constant row (zero variance) at 0, +-1e4 and +-1e30 is exactly beta") {
    // xhat = (x - mu) * rstd with x - mu = 0 exactly, so y = w * 0 + b = b.
    Var x(Tensor{{0, 0, 0},
                 {1e4f, 1e4f, 1e4f},
                 {-1e4f, -1e4f, -1e4f},
                 {kBig, kBig, kBig},
                 {-kBig, -kBig, -kBig}},
          true);
    Var w(Tensor{1.0f, 2.0f, 3.0f}, true), b(Tensor{0.5f, -0.5f, 1.5f}, true);
    Var y = ops::layer_norm(x, w, b);
    for (std::size_t r = 0; r < 5; ++r) {
      INFO("row " << r);
      CHECK(max_abs_diff(Tensor(xt::view(y.value(), r)), Tensor{0.5f, -0.5f, 1.5f}) == 0);
    }
    // dx = rstd * (gw - mean(gw) - xhat * mean(gw xhat)) with xhat = 0, gw = g * w:
    // g = [1, 1, 1] gives gw = [1, 2, 3], mean 2, so dx = rstd * [-1, 0, 1] with
    // rstd = 1 / sqrt(eps) = 1 / sqrt(1e-5). dw = sum_rows g * xhat = 0; db = 5 rows * 1.
    y.backward(xt::ones<float>({5, 3}));
    REQUIRE(finite(x.grad()));
    const float rs = 1.0f / std::sqrt(1e-5f);
    for (std::size_t r = 0; r < 5; ++r) {
      CHECK(x.grad()(r, 0) == Approx(-rs).epsilon(1e-4));
      CHECK(x.grad()(r, 1) == Approx(0.0f).margin(1e-3));
      CHECK(x.grad()(r, 2) == Approx(rs).epsilon(1e-4));
    }
    CHECK(max_abs_diff(w.grad(), Tensor{0, 0, 0}) == 0);
    CHECK(max_abs_diff(b.grad(), Tensor{5, 5, 5}) == 0);
  }
  SECTION("rows of +-1e4 and +-1e30 normalise to +-1, gradient scaled by 1/std") {
    // Row [s, -s, s, -s]: mu = 0, var = s^2 (eps negligible), xhat = [1, -1, 1, -1].
    // With g = [1, 0, 0, 0]: mean(g) = 1/4, mean(g xhat) = 1/4, so
    // dx = (1/s) * ([1,0,0,0] - 1/4 - xhat/4) = (1/s) * [1/2, 0, -1/2, 0].
    for (float s : {1e4f, kBig}) {
      INFO("s = " << s);
      Var x(Tensor{{s, -s, s, -s}}, true);
      Var y = ops::layer_norm(x, Var(), Var());
      REQUIRE(finite(y.value()));
      CHECK(max_abs_diff(y.value(), Tensor{{1, -1, 1, -1}}) < 1e-6);
      y.backward(Tensor{{1, 0, 0, 0}});
      REQUIRE(finite(x.grad()));
      const Tensor want = {{0.5f / s, 0.0f, -0.5f / s, 0.0f}};
      for (std::size_t j = 0; j < 4; ++j)
        CHECK(x.grad()(0, j) == Approx(want(0, j)).epsilon(1e-5).margin(1e-6f / s));
    }
  }
}

TEST_CASE("attention softmax stays finite with huge scores and large-negative float masks",
          "[reliability][extreme]") {
  // One query q = [1e4, 0] over keys [1, 0], [0, 1], [-1, 0] with scale 1: scores
  // [1e4, 0, -1e4] -> weights [1, 0, 0] -> output = v_0.
  auto qkv = [] {
    Tensor q = xt::zeros<float>(Shape{1, 1, 1, 2});
    q(0, 0, 0, 0) = 1e4f;
    Tensor k = xt::zeros<float>(Shape{1, 1, 3, 2});
    k(0, 0, 0, 0) = 1;
    k(0, 0, 1, 1) = 1;
    k(0, 0, 2, 0) = -1;
    Tensor v = xt::zeros<float>(Shape{1, 1, 3, 1});
    v(0, 0, 0, 0) = 2;
    v(0, 0, 1, 0) = 5;
    v(0, 0, 2, 0) = 11;
    return std::tuple{Var(q, true), Var(k, true), Var(v, true)};
  };
  SECTION("no mask: all weight on the largest score") {
    auto [q, k, v] = qkv();
    nn::AttentionOptions o;
    o.scale = 1.0f;
    auto r = nn::scaled_dot_product_attention(q, k, v, o);
    REQUIRE(finite(r.output.value()));
    CHECK(r.output.value()(0, 0, 0, 0) == 2.0f);
    ops::sum(r.output).backward();
    REQUIRE(finite(q.grad()));
    REQUIRE(finite(k.grad()));
    // d out / d v_s = weight_s = [1, 0, 0]; the weights are saturated, so d/dq = 0.
    CHECK(max_abs_diff(v.grad(), shaped(Tensor{1, 0, 0}, {1, 1, 3, 1})) == 0);
    CHECK(max_abs_diff(q.grad(), Tensor(xt::zeros<float>(Shape{1, 1, 1, 2}))) == 0);
  }
  SECTION("boolean mask on key 0: the remaining scores [0, -1e4] give weights [0, 1, 0]") {
    auto [q, k, v] = qkv();
    nn::AttentionOptions o;
    o.scale = 1.0f;
    BoolTensor m = xt::zeros<bool>(Shape{1, 3});
    m(0, 0) = true;
    o.attn_mask = m;
    auto r = nn::scaled_dot_product_attention(q, k, v, o);
    REQUIRE(finite(r.output.value()));
    CHECK(r.output.value()(0, 0, 0, 0) == 5.0f);
    ops::sum(r.output).backward();
    REQUIRE(finite(q.grad()));
    REQUIRE(finite(k.grad()));
    CHECK(max_abs_diff(v.grad(), shaped(Tensor{0, 1, 0}, {1, 1, 3, 1})) == 0);
  }
  SECTION("a float mask of -1e30 on every key: the scores are all -1e30, so weights are 1/3") {
    // -1e30 + 1e4 rounds to -1e30 in float: every key gets the same score and the softmax is
    // uniform (PyTorch gives the same), output = (2 + 5 + 11) / 3 = 6.
    auto [q, k, v] = qkv();
    nn::AttentionOptions o;
    o.scale = 1.0f;
    o.attn_mask = Tensor(xt::full_like(Tensor(xt::zeros<float>(Shape{1, 3})), -kBig));
    auto r = nn::scaled_dot_product_attention(q, k, v, o);
    REQUIRE(finite(r.output.value()));
    CHECK(r.output.value()(0, 0, 0, 0) == Approx(6.0f));
    ops::sum(r.output).backward();
    REQUIRE(finite(q.grad()));
    REQUIRE(finite(k.grad()));
    const float third = 1.0f / 3.0f;
    CHECK(max_abs_diff(v.grad(), shaped(Tensor{third, third, third}, {1, 1, 3, 1})) < 1e-6);
  }
  SECTION("a float mask of -1e30 on key 0 acts like a boolean mask") {
    auto [q, k, v] = qkv();
    nn::AttentionOptions o;
    o.scale = 1.0f;
    Tensor m = xt::zeros<float>(Shape{1, 3});
    m(0, 0) = -kBig;
    o.attn_mask = m;
    auto r = nn::scaled_dot_product_attention(q, k, v, o);
    REQUIRE(finite(r.output.value()));
    CHECK(r.output.value()(0, 0, 0, 0) == 5.0f);
    ops::sum(r.output).backward();
    REQUIRE(finite(q.grad()));
    REQUIRE(finite(k.grad()));
  }
}
