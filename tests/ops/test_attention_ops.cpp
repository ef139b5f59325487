#include <cmath>
#include <vector>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;
using Vars = std::vector<Var>;

namespace {

// Element (b, l, c) of a [B, L, W] tensor, or of [L, B, W] when time-major.
float at(const Tensor& x, bool tm, std::size_t b, std::size_t l, std::size_t c) {
  return tm ? x(l, b, c) : x(b, l, c);
}

// Naive attention, independent of BLAS and of the ops: returns P [B, H, T, S] and fills
// out [B, T, H*dv] (or [T, B, H*dv]).
Tensor naive(const Tensor& q, std::size_t qo, const Tensor& k, std::size_t ko, const Tensor& v,
             std::size_t vo, std::size_t H, std::size_t d, std::size_t dv, float scale, bool tm,
             const Tensor* bias, Tensor& out) {
  const std::size_t B = tm ? q.shape()[1] : q.shape()[0];
  const std::size_t T = tm ? q.shape()[0] : q.shape()[1];
  const std::size_t S = tm ? k.shape()[0] : k.shape()[1];
  Tensor p = xt::zeros<float>({B, H, T, S});
  out = xt::zeros<float>(tm ? Shape{T, B, H * dv} : Shape{B, T, H * dv});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t t = 0; t < T; ++t) {
        std::vector<double> s(S);
        double mx = -1e300;
        for (std::size_t j = 0; j < S; ++j) {
          double acc = 0;
          for (std::size_t c = 0; c < d; ++c)
            acc += at(q, tm, b, t, qo + h * d + c) * at(k, tm, b, j, ko + h * d + c);
          s[j] = scale * acc;
          if (bias) s[j] += bias->dimension() == 2 ? (*bias)(t, j) : (*bias)(b * H + h, t, j);
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (double& x : s) z += (x = std::exp(x - mx));
        for (std::size_t j = 0; j < S; ++j) p(b, h, t, j) = static_cast<float>(s[j] / z);
        for (std::size_t c = 0; c < dv; ++c) {
          double acc = 0;
          for (std::size_t j = 0; j < S; ++j)
            acc += p(b, h, t, j) * at(v, tm, b, j, vo + h * dv + c);
          (tm ? out(t, b, h * dv + c) : out(b, t, h * dv + c)) = static_cast<float>(acc);
        }
      }
  return p;
}

}  // namespace

TEST_CASE("attention ops: packed batch-first projection against naive loops", "[attention_ops]") {
  const std::size_t B = 2, T = 3, H = 2, d = 2, E = H * d;
  const Tensor qkv = randn({B, T, 3 * E}, 11);
  Var src(qkv);
  Var w = ops::attention_weights({src, 0, d}, {src, E, d}, H, 0.7f);
  Var o = ops::attention_combine(w, {src, 2 * E, d});
  Tensor want_o;
  const Tensor want_p = naive(qkv, 0, qkv, E, qkv, 2 * E, H, d, d, 0.7f, false, nullptr, want_o);
  CHECK(shape_of(w.value()) == Shape{B, H, T, T});
  CHECK(test::max_abs_diff(w.value(), want_p) < 1e-6);
  CHECK(test::max_abs_diff(o.value(), want_o) < 1e-5);
}

TEST_CASE("attention ops: time-major separate q, k, v with S != T and a per-head bias",
          "[attention_ops]") {
  const std::size_t B = 2, T = 3, S = 4, H = 2, d = 3, dv = 2;
  const Tensor q = randn({T, B, H * d + 1}, 12), k = randn({S, B, H * d}, 13);
  const Tensor v = randn({S, B, H * dv + 2}, 14);
  Tensor bias = randn({B * H, T, S}, 15);
  bias(1, 2, 0) = -INFINITY;  // a masked key
  Var w = ops::attention_weights({Var(q), 1, d}, {Var(k), 0, d}, H, 0.5f, true, &bias);
  Var o = ops::attention_combine(w, {Var(v), 2, dv}, true);
  Tensor want_o;
  const Tensor want_p = naive(q, 1, k, 0, v, 2, H, d, dv, 0.5f, true, &bias, want_o);
  CHECK(w.value()(0, 1, 2, 0) == 0.0f);
  CHECK(test::max_abs_diff(w.value(), want_p) < 1e-6);
  CHECK(shape_of(o.value()) == Shape{T, B, H * dv});
  CHECK(test::max_abs_diff(o.value(), want_o) < 1e-5);
}

TEST_CASE("attention ops: gradcheck packed, separate, time-major, biased, tied q = k",
          "[attention_ops]") {
  const std::size_t B = 2, T = 3, H = 2, d = 2, E = H * d;
  SECTION("packed q, k, v in one projection, causal bias [T, S]") {
    Tensor bias = xt::zeros<float>({T, T});
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = t + 1; s < T; ++s) bias(t, s) = -INFINITY;
    auto f = [&](const Vars& x) {
      Var w = ops::attention_weights({x[0], 0, d}, {x[0], E, d}, H, 0.6f, false, &bias);
      return ops::attention_combine(w, {x[0], 2 * E, d});
    };
    CHECK_GRADIENTS(f, {randn({B, T, 3 * E}, 21)});
  }
  SECTION("separate q, k, v, time-major, S != T") {
    auto f = [&](const Vars& x) {
      Var w = ops::attention_weights({x[0], 0, d}, {x[1], 1, d}, H, 0.4f, true);
      return ops::attention_combine(w, {x[2], 0, 3}, true);
    };
    CHECK_GRADIENTS(f, {randn({T, B, E}, 22), randn({4, B, E + 1}, 23), randn({4, B, 3 * H}, 24)});
  }
  SECTION("q and k the same columns (overlapping blocks accumulate)") {
    auto f = [&](const Vars& x) {
      Var w = ops::attention_weights({x[0], 0, d}, {x[0], 0, d}, H, 0.9f);
      return ops::attention_combine(w, {x[1], 0, d});
    };
    CHECK_GRADIENTS(f, {randn({B, T, E}, 25), randn({B, T, E}, 26)});
  }
  SECTION("the weights alone, as a model's attention map") {
    auto f = [&](const Vars& x) {
      return ops::attention_weights({x[0], 0, d}, {x[1], 0, d}, H, 1.0f);
    };
    CHECK_GRADIENTS(f, {randn({B, T, E}, 27), randn({B, 5, E}, 28)});
  }
}

TEST_CASE("attention ops: wrong shapes name the op, the operand and what was expected",
          "[attention_ops]") {
  const Var q(randn({2, 3, 8}, 1)), k(randn({2, 4, 8}, 2)), k1(randn({1, 4, 8}, 3));
  CHECK_SHAPE_ERROR(ops::attention_weights({Var(randn({3, 8}, 4)), 0, 4}, {k, 0, 4}, 2, 1.0f),
                    "must be 3-D");
  CHECK_SHAPE_ERROR(ops::attention_weights({q, 4, 4}, {k, 0, 4}, 2, 1.0f),
                    "offset + heads * head_dim <= width 8");
  CHECK_SHAPE_ERROR(ops::attention_weights({q, 0, 4}, {k1, 0, 4}, 2, 1.0f),
                    "different batch sizes");
  CHECK_SHAPE_ERROR(ops::attention_weights({q, 0, 4}, {k, 0, 2}, 2, 1.0f), "head_dim differ");
  CHECK_SHAPE_ERROR(ops::attention_weights({q, 0, 4}, {k, 0, 4}, 0, 1.0f), "heads must be > 0");
  const Tensor bad_bias = xt::zeros<float>({3, 3});
  CHECK_SHAPE_ERROR(ops::attention_weights({q, 0, 4}, {k, 0, 4}, 2, 1.0f, false, &bad_bias),
                    "must be [T, S] = [3, 4]");
  const Var w = ops::attention_weights({q, 0, 4}, {k, 0, 4}, 2, 1.0f);
  CHECK_SHAPE_ERROR(ops::attention_combine(Var(randn({2, 3, 4}, 5)), {k, 0, 4}), "must be 4-D");
  CHECK_SHAPE_ERROR(ops::attention_combine(w, {q, 0, 4}), "S = 4 keys");
}
