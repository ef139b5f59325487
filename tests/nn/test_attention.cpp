#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using unroll::test::finite;
using unroll::test::max_abs_diff;
using unroll::test::randn;

namespace {

const autograd::GradCheckOptions kStep{.eps = 1e-2};
const autograd::NamedVars kNone;
constexpr float kInf = std::numeric_limits<float>::infinity();

Var flat(const Var& x) {
  return ops::reshape(x, {-1});
}

// Output and weights of one sdpa call, flattened into one Var for gradcheck.
Var sdpa_all(const std::vector<Var>& v, const nn::AttentionOptions& o) {
  nn::AttentionResult r = nn::scaled_dot_product_attention(v[0], v[1], v[2], o);
  return ops::concat({flat(r.output), flat(r.weights)}, 0);
}

// An explicit reference for one (b, h) slice: softmax(q k^T / sqrt(d) + bias) v, by loops.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias) {
  const std::size_t T = q.shape()[0], S = k.shape()[0], d = q.shape()[1], dv = v.shape()[1];
  Tensor out = xt::zeros<float>(Shape{T, dv});
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<double> s(S);
    double m = -1e300;
    for (std::size_t j = 0; j < S; ++j) {
      double acc = 0;
      for (std::size_t c = 0; c < d; ++c) acc += double(q(t, c)) * k(j, c);
      s[j] = acc / std::sqrt(double(d)) + bias(t, j);
      m = std::max(m, s[j]);
    }
    double z = 0;
    for (double& x : s) z += (x = std::exp(x - m));
    for (std::size_t j = 0; j < S; ++j)
      for (std::size_t c = 0; c < dv; ++c) out(t, c) += float(s[j] / z * v(j, c));
  }
  return out;
}

}  // namespace

TEST_CASE("attention: closed form on one query", "[attention]") {
  // q = 1, keys 0 and ln 3 (d = 1, scale 1): weights 1/4, 3/4; values 2, 6 -> 5.
  Var q(Tensor(xt::ones<float>(Shape{1, 1, 1, 1})));
  Tensor kt = xt::zeros<float>(Shape{1, 1, 2, 1});
  kt(0, 0, 1, 0) = std::log(3.0f);
  Tensor vt = xt::zeros<float>(Shape{1, 1, 2, 1});
  vt(0, 0, 0, 0) = 2.0f;
  vt(0, 0, 1, 0) = 6.0f;
  auto r = nn::scaled_dot_product_attention(q, Var(kt), Var(vt));
  CHECK(std::abs(r.weights.value()(0, 0, 0, 0) - 0.25f) < 1e-6);
  CHECK(std::abs(r.weights.value()(0, 0, 0, 1) - 0.75f) < 1e-6);
  CHECK(std::abs(r.output.value()(0, 0, 0, 0) - 5.0f) < 1e-5);
  CHECK(shape_of(r.output.value()) == Shape{1, 1, 1, 1});
}

TEST_CASE("attention matches a loop reference with every mask kind", "[attention]") {
  const std::size_t B = 2, H = 3, T = 4, S = 5, d = 3, dv = 2;
  Tensor q = randn({B, H, T, d}, 1), k = randn({B, H, S, d}, 2), v = randn({B, H, S, dv}, 3);
  BoolTensor am = xt::zeros<bool>(Shape{T, S});
  am(0, 2) = am(1, 4) = am(3, 0) = true;
  Tensor fm = randn({B, 1, T, S}, 4);
  BoolTensor kpm = xt::zeros<bool>(Shape{B, S});
  kpm(0, 1) = kpm(1, 3) = true;
  nn::AttentionOptions o;
  o.attn_mask = am;
  o.key_padding_mask = kpm;
  auto r = nn::scaled_dot_product_attention(Var(q), Var(k), Var(v), o);
  nn::AttentionOptions of;
  of.attn_mask = fm;
  of.causal = true;
  auto rf = nn::scaled_dot_product_attention(Var(q), Var(k), Var(v), of);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h) {
      Tensor qs = xt::view(q, b, h), ks = xt::view(k, b, h), vs = xt::view(v, b, h);
      Tensor bias = xt::zeros<float>(Shape{T, S}), biasf = xt::zeros<float>(Shape{T, S});
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < S; ++s) {
          if (am(t, s) || kpm(b, s)) bias(t, s) = -kInf;
          // causal with S = T + 1: query t sits at position t + 1.
          biasf(t, s) = s > t + 1 ? -kInf : fm(b, 0, t, s);
        }
      CHECK(max_abs_diff(Tensor(xt::view(r.output.value(), b, h)),
                         reference_attention(qs, ks, vs, bias)) < 1e-5);
      CHECK(max_abs_diff(Tensor(xt::view(rf.output.value(), b, h)),
                         reference_attention(qs, ks, vs, biasf)) < 1e-5);
    }
}

TEST_CASE("attention passes gradcheck with each mask kind", "[attention]") {
  const std::size_t B = 2, H = 2, T = 3, S = 4, d = 3;
  std::vector<Tensor> in{randn({B, H, T, d}, 11), randn({B, H, S, d}, 12), randn({B, H, S, 2}, 13)};
  nn::AttentionOptions none;
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, none); }, in, kNone, kStep);

  nn::AttentionOptions boolean;
  BoolTensor am = xt::zeros<bool>(Shape{T, S});
  am(0, 1) = am(2, 3) = am(1, 0) = true;
  boolean.attn_mask = am;
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, boolean); }, in, kNone,
                  kStep);

  nn::AttentionOptions additive;
  additive.attn_mask = randn({B, H, T, S}, 14);
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, additive); }, in, kNone,
                  kStep);

  nn::AttentionOptions padding;
  BoolTensor kpm = xt::zeros<bool>(Shape{B, S});
  kpm(0, 3) = kpm(1, 0) = kpm(1, 2) = true;
  padding.key_padding_mask = kpm;
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, padding); }, in, kNone,
                  kStep);

  nn::AttentionOptions causal;
  causal.causal = true;
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, causal); }, in, kNone, kStep);

  // All together, with a fully masked query row (query 0 of batch 1 sees nothing).
  nn::AttentionOptions all = padding;
  BoolTensor am2 = xt::zeros<bool>(Shape{B, 1, T, S});
  am2(1, 0, 0, 1) = am2(1, 0, 0, 3) = true;
  all.attn_mask = am2;
  all.causal = true;
  all.scale = 0.7f;
  CHECK_GRADIENTS([&](const std::vector<Var>& v) { return sdpa_all(v, all); }, in, kNone, kStep);
}

TEST_CASE("attention: a masked key gets exactly zero weight and zero gradient", "[attention]") {
  Var q(randn({1, 2, 3, 4}, 1), true), k(randn({1, 2, 5, 4}, 2), true),
      v(randn({1, 2, 5, 4}, 3), true);
  nn::AttentionOptions o;
  BoolTensor kpm = xt::zeros<bool>(Shape{1, 5});
  kpm(0, 2) = true;
  o.key_padding_mask = kpm;
  BoolTensor am = xt::zeros<bool>(Shape{3, 5});
  am(1, 4) = true;
  o.attn_mask = am;
  auto r = nn::scaled_dot_product_attention(q, k, v, o);
  for (std::size_t h = 0; h < 2; ++h) {
    for (std::size_t t = 0; t < 3; ++t) CHECK(r.weights.value()(0, h, t, 2) == 0.0f);
    CHECK(r.weights.value()(0, h, 1, 4) == 0.0f);
    CHECK(r.weights.value()(0, h, 0, 4) > 0.0f);
  }
  ops::sum(r.output * Var(randn({1, 2, 3, 4}, 4))).backward();
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t c = 0; c < 4; ++c) {
      CHECK(k.grad()(0, h, 2, c) == 0.0f);
      CHECK(v.grad()(0, h, 2, c) == 0.0f);
    }
}

TEST_CASE("causal attention: output t has zero gradient from inputs after t", "[attention]") {
  const std::size_t T = 5;
  for (std::size_t t = 0; t < T; ++t) {
    Var q(randn({2, 2, T, 3}, 1), true), k(randn({2, 2, T, 3}, 2), true),
        v(randn({2, 2, T, 3}, 3), true);
    nn::AttentionOptions o;
    o.causal = true;
    auto r = nn::scaled_dot_product_attention(q, k, v, o);
    ops::sum(ops::narrow(r.output, 2, t, 1)).backward();
    for (std::size_t s = 0; s < T; ++s) {
      const double gk = xt::sum(xt::abs(xt::view(k.grad(), xt::all(), xt::all(), s)))();
      const double gv = xt::sum(xt::abs(xt::view(v.grad(), xt::all(), xt::all(), s)))();
      const double gq = xt::sum(xt::abs(xt::view(q.grad(), xt::all(), xt::all(), s)))();
      if (s > t) {
        CHECK(gk == 0.0);
        CHECK(gv == 0.0);
      } else {
        CHECK(gv > 0.0);  // every earlier value contributes
      }
      // Query t alone feeds output t; at t = 0 the single weight is 1 whatever q is.
      CHECK((gq > 0.0) == (s == t && t > 0));
    }
  }
}

TEST_CASE("attention: a fully masked query row gives zeros, not NaN", "[attention]") {
  Var q(randn({2, 1, 3, 2}, 1), true), k(randn({2, 1, 3, 2}, 2), true),
      v(randn({2, 1, 3, 2}, 3), true);
  nn::AttentionOptions o;
  BoolTensor kpm = xt::zeros<bool>(Shape{2, 3});
  kpm(1, 0) = kpm(1, 1) = kpm(1, 2) = true;  // batch 1: no key at all
  o.key_padding_mask = kpm;
  BoolTensor am = xt::zeros<bool>(Shape{3, 3});
  am(2, 0) = am(2, 1) = am(2, 2) = true;  // query 2: no key at all
  o.attn_mask = am;
  auto r = nn::scaled_dot_product_attention(q, k, v, o);
  REQUIRE(finite(r.output.value()));
  REQUIRE(finite(r.weights.value()));
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t c = 0; c < 2; ++c) CHECK(r.output.value()(1, 0, t, c) == 0.0f);
  for (std::size_t c = 0; c < 2; ++c) CHECK(r.output.value()(0, 0, 2, c) == 0.0f);
  for (std::size_t s = 0; s < 3; ++s) CHECK(r.weights.value()(0, 0, 2, s) == 0.0f);
  // Rows with keys left are ordinary softmax rows.
  for (std::size_t t = 0; t < 2; ++t) {
    const float z = r.weights.value()(0, 0, t, 0) + r.weights.value()(0, 0, t, 1) +
                    r.weights.value()(0, 0, t, 2);
    CHECK(std::abs(z - 1.0f) < 1e-6);
  }
  ops::sum(r.output * Var(randn({2, 1, 3, 2}, 4))).backward();
  CHECK(finite(q.grad()));
  CHECK(finite(k.grad()));
  for (std::size_t c = 0; c < 2; ++c) CHECK(q.grad()(0, 0, 2, c) == 0.0f);
  CHECK(xt::sum(xt::abs(xt::view(v.grad(), 1)))() == 0.0f);
  // A float mask of -inf everywhere in a row is the same case.
  nn::AttentionOptions of;
  Tensor fm = xt::zeros<float>(Shape{3, 3});
  fm(0, 0) = fm(0, 1) = fm(0, 2) = -kInf;
  of.attn_mask = fm;
  auto rf = nn::scaled_dot_product_attention(q, k, v, of);
  REQUIRE(finite(rf.output.value()));
  CHECK(rf.output.value()(0, 0, 0, 0) == 0.0f);
}

TEST_CASE("attention dropout drops weights in training only", "[attention]") {
  Var q(randn({1, 2, 4, 3}, 1)), k(randn({1, 2, 6, 3}, 2)), v(randn({1, 2, 6, 3}, 3));
  auto plain = nn::scaled_dot_product_attention(q, k, v);
  Generator gen(7);
  nn::AttentionOptions o;
  o.dropout = 0.5f;
  o.generator = &gen;
  auto eval = nn::scaled_dot_product_attention(q, k, v, o);
  CHECK(max_abs_diff(eval.output.value(), plain.output.value()) == 0.0);
  o.training = true;
  auto tr = nn::scaled_dot_product_attention(q, k, v, o);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < tr.weights.size(); ++i) {
    const float w = tr.weights.value().data()[i], w0 = plain.weights.value().data()[i];
    if (w == 0.0f)
      ++dropped;
    else
      CHECK(std::abs(w - 2.0f * w0) < 1e-6);
  }
  CHECK(dropped > 8);
  CHECK(dropped < 40);
}

TEST_CASE("attention shape errors", "[attention]") {
  Var q(randn({2, 2, 3, 4}, 1)), k(randn({2, 2, 5, 4}, 2)), v(randn({2, 2, 5, 6}, 3));
  auto sdpa = [](const Var& a, const Var& b, const Var& c, nn::AttentionOptions o = {}) {
    return nn::scaled_dot_product_attention(a, b, c, o);
  };
  CHECK_NOTHROW(sdpa(q, k, v));
  CHECK_THROWS_WITH(sdpa(Var(randn({2, 3, 4}, 1)), k, v),
                    Contains("scaled_dot_product_attention") && Contains("[2, 3, 4]"));
  CHECK_THROWS_AS(sdpa(q, Var(randn({2, 2, 5, 3}, 2)), v), ShapeError);  // head dims
  CHECK_THROWS_AS(sdpa(q, k, Var(randn({2, 2, 4, 6}, 3))), ShapeError);  // key counts
  CHECK_THROWS_AS(sdpa(q, Var(randn({1, 2, 5, 4}, 2)), v), ShapeError);  // batch
  CHECK_THROWS_AS(sdpa(q, Var(randn({2, 3, 5, 4}, 2)), v), ShapeError);  // heads
  nn::AttentionOptions o;
  o.attn_mask = BoolTensor(xt::zeros<bool>(Shape{3, 4}));
  CHECK_THROWS_WITH(sdpa(q, k, v, o), Contains("attn_mask") && Contains("[3, 4]"));
  o.attn_mask = Tensor(xt::zeros<float>(Shape{3, 2, 3, 5}));
  CHECK_THROWS_AS(sdpa(q, k, v, o), ShapeError);
  o.attn_mask = Tensor(xt::zeros<float>(Shape{1, 2, 2, 3, 5}));
  CHECK_THROWS_AS(sdpa(q, k, v, o), ShapeError);
  o.attn_mask = Tensor(xt::zeros<float>(Shape{2, 1, 3, 5}));
  CHECK_NOTHROW(sdpa(q, k, v, o));
  nn::AttentionOptions p;
  p.key_padding_mask = BoolTensor(xt::zeros<bool>(Shape{2, 4}));
  CHECK_THROWS_WITH(sdpa(q, k, v, p), Contains("key_padding_mask") && Contains("[2, 5]"));
  nn::AttentionOptions c;
  c.causal = true;
  CHECK_THROWS_WITH(sdpa(Var(randn({2, 2, 5, 4}, 1)), Var(randn({2, 2, 3, 4}, 1)),
                         Var(randn({2, 2, 3, 4}, 1)), c),
                    Contains("causal"));
}

// ---------------------------------------------------------------- MultiheadAttention

TEST_CASE("MultiheadAttention: PyTorch names, shapes and initial values", "[attention]") {
  Generator gen(3);
  nn::MultiheadAttention mha(8, 2, 0.0f, true, false, gen);
  auto named = mha.named_parameters();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "in_proj_weight");
  CHECK(named[1].first == "in_proj_bias");
  CHECK(named[2].first == "out_proj.weight");
  CHECK(named[3].first == "out_proj.bias");
  CHECK(shape_of(mha.in_proj_weight.value()) == Shape{24, 8});
  CHECK(shape_of(mha.in_proj_bias.value()) == Shape{24});
  CHECK(shape_of(mha.out_proj->weight.value()) == Shape{8, 8});
  CHECK(xt::amax(xt::abs(mha.in_proj_bias.value()))() == 0.0f);
  CHECK(xt::amax(xt::abs(mha.out_proj->bias.value()))() == 0.0f);
  // xavier_uniform on [3E, E]: bound sqrt(6 / (E + 3E)).
  const float bound = std::sqrt(6.0f / 32.0f);
  const float mx = xt::amax(xt::abs(mha.in_proj_weight.value()))();
  CHECK(mx <= bound);
  CHECK(mx > 0.8f * bound);
  nn::MultiheadAttention nobias(8, 4, 0.0f, false);
  auto nb = nobias.named_parameters();
  REQUIRE(nb.size() == 2);
  CHECK(nb[0].first == "in_proj_weight");
  CHECK(nb[1].first == "out_proj.weight");
}

TEST_CASE("MultiheadAttention passes gradcheck with separate query, key and value", "[attention]") {
  Generator gen(5);
  for (bool batch_first : {false, true}) {
    nn::MultiheadAttention mha(6, 3, 0.0f, true, batch_first, gen);
    // Nonzero biases so their gradients are checked away from a special point.
    mha.in_proj_bias.mutable_value() = randn({18}, 21, 0.3f);
    mha.out_proj->bias.mutable_value() = randn({6}, 22, 0.3f);
    BoolTensor kpm = xt::zeros<bool>(Shape{2, 4});
    kpm(1, 2) = true;
    BoolTensor am = xt::zeros<bool>(Shape{3, 4});
    am(0, 3) = true;
    auto f = [&](const std::vector<Var>& v) {
      auto r = mha.forward(v[0], v[1], v[2], kpm, true, am);
      return ops::concat({flat(r.output), flat(r.weights)}, 0);
    };
    const Shape qs = batch_first ? Shape{2, 3, 6} : Shape{3, 2, 6};
    const Shape ks = batch_first ? Shape{2, 4, 6} : Shape{4, 2, 6};
    CHECK_GRADIENTS(f, {randn(qs, 1), randn(ks, 2), randn(ks, 3)}, mha.named_parameters(), kStep);
  }
  // Self-attention through the packed projection (the same Var three times), causal.
  nn::MultiheadAttention mha(4, 2, 0.0f, true, true, gen);
  auto g = [&](const std::vector<Var>& v) {
    auto r = mha.forward(v[0], v[0], v[0], {}, true, {}, false, true);
    return ops::concat({flat(r.output), flat(r.weights)}, 0);
  };
  CHECK_GRADIENTS(g, {randn({2, 3, 4}, 4)}, mha.named_parameters(), kStep);
}

TEST_CASE("MultiheadAttention: packed self-attention equals separate inputs; weight options",
          "[attention]") {
  Generator gen(6);
  nn::MultiheadAttention mha(8, 4, 0.0f, true, false, gen);
  mha.in_proj_bias.mutable_value() = randn({24}, 3, 0.3f);
  Tensor x = randn({5, 2, 8}, 1);
  Var xv(x);
  auto packed = mha.forward(xv, xv, xv);
  auto separate = mha.forward(Var(x), Var(x), Var(x));
  CHECK(max_abs_diff(packed.output.value(), separate.output.value()) < 1e-6);
  CHECK(shape_of(packed.weights.value()) == Shape{2, 5, 5});
  auto per_head = mha.forward(xv, xv, xv, {}, true, {}, false);
  REQUIRE(shape_of(per_head.weights.value()) == Shape{2, 4, 5, 5});
  CHECK(max_abs_diff(Tensor(xt::mean(per_head.weights.value(), {1})), packed.weights.value()) <
        1e-6);
  CHECK_FALSE(mha.forward(xv, xv, xv, {}, false).weights.defined());
  // A float attn_mask of 0 / -inf equals the boolean one; a [B * H, T, S] mask equals the
  // [T, S] one repeated.
  BoolTensor am = xt::zeros<bool>(Shape{5, 5});
  am(0, 1) = am(3, 4) = am(2, 0) = true;
  Tensor fm = xt::zeros<float>(Shape{5, 5});
  fm(0, 1) = fm(3, 4) = fm(2, 0) = -kInf;
  BoolTensor am3 = xt::zeros<bool>(Shape{8, 5, 5});
  for (std::size_t i = 0; i < 8; ++i) xt::view(am3, i) = am;
  auto rb = mha.forward(xv, xv, xv, {}, true, am);
  auto rf = mha.forward(xv, xv, xv, {}, true, fm);
  auto r3 = mha.forward(xv, xv, xv, {}, true, am3);
  CHECK(max_abs_diff(rb.output.value(), rf.output.value()) == 0.0);
  CHECK(max_abs_diff(rb.output.value(), r3.output.value()) == 0.0);
  CHECK(rb.weights.value()(0, 0, 1) == 0.0f);
}

TEST_CASE("MultiheadAttention with is_causal: no gradient from later positions", "[attention]") {
  Generator gen(8);
  nn::MultiheadAttention mha(6, 2, 0.0f, true, true, gen);
  Var x(randn({2, 4, 6}, 1), true);
  auto r = mha.forward(x, x, x, {}, false, {}, true, true);
  ops::sum(ops::narrow(r.output, 1, 1, 1)).backward();
  for (std::size_t s = 0; s < 4; ++s) {
    const double g = xt::sum(xt::abs(xt::view(x.grad(), xt::all(), s)))();
    CHECK((g > 0.0) == (s <= 1));
  }
}

TEST_CASE("MultiheadAttention::step over a cache equals the causal forward", "[attention]") {
  Generator gen(9);
  nn::MultiheadAttention mha(8, 2, 0.0f, true, true, gen);
  mha.in_proj_bias.mutable_value() = randn({24}, 3, 0.3f);
  Tensor x = randn({3, 6, 8}, 2);
  Var full = mha.forward(Var(x), Var(x), Var(x), {}, false, {}, true, true).output;
  nn::KVCacheLayer cache;
  for (std::size_t t = 0; t < 6; ++t) {
    Var y = mha.step(Var(Tensor(xt::view(x, xt::all(), t))), cache);
    CHECK(cache.length() == t + 1);
    CHECK(max_abs_diff(y.value(), Tensor(xt::view(full.value(), xt::all(), t))) < 1e-5);
  }
  CHECK_THROWS_AS(mha.step(Var(randn({2, 8}, 1)), cache), ShapeError);  // batch differs
  CHECK_THROWS_AS(mha.step(Var(randn({3, 7}, 1)), cache), ShapeError);
}

TEST_CASE("MultiheadAttention shape errors", "[attention]") {
  CHECK_THROWS_WITH(nn::MultiheadAttention(10, 3),
                    Contains("embed_dim 10") && Contains("num_heads 3"));
  CHECK_THROWS_AS(nn::MultiheadAttention(8, 0), ShapeError);
  CHECK_THROWS_AS(nn::MultiheadAttention(8, 2, 1.5f), ShapeError);
  nn::MultiheadAttention mha(8, 2);
  Var q(randn({3, 2, 8}, 1)), kv(randn({4, 2, 8}, 2));
  CHECK_NOTHROW(mha.forward(q, kv, kv));
  CHECK_THROWS_WITH(mha.forward(Var(randn({3, 2, 6}, 1)), kv, kv), Contains("MultiheadAttention") &&
                                                                       Contains("[3, 2, 6]") &&
                                                                       Contains("embed_dim 8"));
  CHECK_THROWS_AS(mha.forward(Var(randn({3, 8}, 1)), kv, kv), ShapeError);
  CHECK_THROWS_AS(mha.forward(q, Var(randn({4, 3, 8}, 2)), kv), ShapeError);  // batch
  CHECK_THROWS_AS(mha.forward(q, kv, Var(randn({5, 2, 8}, 2))), ShapeError);  // S
  CHECK_THROWS_WITH(mha.forward(q, kv, kv, {}, true, BoolTensor(xt::zeros<bool>(Shape{4, 3}))),
                    Contains("attn_mask") && Contains("[3, 4]") && Contains("[4, 3, 4]"));
  CHECK_THROWS_AS(mha.forward(q, kv, kv, {}, true, BoolTensor(xt::zeros<bool>(Shape{2, 3, 4}))),
                  ShapeError);
  CHECK_NOTHROW(mha.forward(q, kv, kv, {}, true, BoolTensor(xt::zeros<bool>(Shape{4, 3, 4}))));
  CHECK_THROWS_WITH(mha.forward(q, kv, kv, BoolTensor(xt::zeros<bool>(Shape{4, 2}))),
                    Contains("key_padding_mask") && Contains("[2, 4]"));
  CHECK_THROWS_AS(mha.forward(q, kv, kv, {}, true, {}, true, true), ShapeError);  // T != S
}
