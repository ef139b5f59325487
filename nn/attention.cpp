#include "nn/attention.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nn/init.hpp"
#include "ops/ops.hpp"

namespace unroll::nn {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Var reshape(const Var& x, std::initializer_list<std::size_t> s) {
  std::vector<std::ptrdiff_t> v;
  for (std::size_t d : s) v.push_back(static_cast<std::ptrdiff_t>(d));
  return ops::reshape(x, std::move(v));
}

std::string str(std::size_t n) {
  return std::to_string(n);
}

// The masks folded into one constant bias added to the scores [B*H, T, S]. Stored as [T, S]
// when nothing varies over batch or head (the add broadcasts it), else [B*H, T, S].
struct ScoreBias {
  bool has_bias = false;  // false: no mask at all
  bool has_keep = false;  // false: no row is fully masked
  Tensor bias;
  Tensor keep;  // 0 for rows whose keys are all masked, 1 elsewhere
};

ScoreBias build_bias(const AttentionOptions& o, std::size_t B, std::size_t H, std::size_t T,
                     std::size_t S) {
  ScoreBias r;
  const bool has_attn = o.attn_mask.defined(), has_kpm = o.key_padding_mask.defined();
  if (!has_attn && !has_kpm && !o.causal) return r;

  // attn_mask aligned to 4-D, with stride 0 along its broadcast axes.
  Tensor am;
  std::size_t st[4] = {0, 0, 0, 0};
  bool per_bh = has_kpm;
  if (has_attn) {
    am = o.attn_mask.additive();
    Shape s4(4 - am.dimension(), 1);
    for (std::size_t d : am.shape()) s4.push_back(d);
    std::size_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      st[i] = s4[i] == 1 ? 0 : stride;
      stride *= s4[i];
    }
    per_bh = per_bh || s4[0] > 1 || s4[1] > 1;
  }
  Tensor kp = has_kpm ? o.key_padding_mask.additive() : Tensor();

  const std::size_t groups = per_bh ? B * H : 1;
  r.has_bias = true;
  r.bias = xt::empty<float>(per_bh ? Shape{B * H, T, S} : Shape{T, S});
  float* out = r.bias.data();
  const std::size_t shift = S - T;  // causal: query i sits at position i + S - T (S >= T checked)
  std::vector<float> keep(groups * T, 1.0f);
  bool dead_any = false;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t b = g / H, h = g % H;
    for (std::size_t t = 0; t < T; ++t) {
      float* row = out + (g * T + t) * S;
      for (std::size_t s = 0; s < S; ++s) {
        float v = 0.0f;
        if (has_attn) v += am.data()[b * st[0] + h * st[1] + t * st[2] + s * st[3]];
        if (has_kpm) v += kp.data()[b * S + s];
        if (o.causal && s > t + shift) v = kNegInf;
        row[s] = v;
      }
      bool dead = true;
      for (std::size_t s = 0; s < S && dead; ++s) dead = row[s] == kNegInf;
      if (dead) {
        // Finite scores keep the softmax finite; the keep factor then zeroes the row.
        std::fill(row, row + S, 0.0f);
        keep[g * T + t] = 0.0f;
        dead_any = true;
      }
    }
  }
  if (dead_any) {
    r.has_keep = true;
    r.keep = xt::empty<float>(per_bh ? Shape{B * H, T, 1} : Shape{T, 1});
    std::copy(keep.begin(), keep.end(), r.keep.data());
  }
  return r;
}

// The keep factor as [B, H, T, 1] or [1, 1, T, 1], to multiply attention weights [B, H, T, S].
Tensor keep_factor(const ScoreBias& bias, std::size_t B, std::size_t H, std::size_t T) {
  Tensor k = bias.keep;
  k.reshape(k.size() == T ? Shape{1, 1, T, 1} : Shape{B, H, T, 1});
  return k;
}

}  // namespace

// ---------------------------------------------------------------- AttentionMask

AttentionMask::AttentionMask(BoolTensor mask) : kind_(Kind::Bool), bool_(std::move(mask)) {}
AttentionMask::AttentionMask(Tensor additive) : kind_(Kind::Float), float_(std::move(additive)) {}

Shape AttentionMask::shape() const {
  if (kind_ == Kind::Bool) return Shape(bool_.shape().begin(), bool_.shape().end());
  if (kind_ == Kind::Float) return shape_of(float_);
  return {};
}

Tensor AttentionMask::additive() const {
  if (kind_ == Kind::Float) return float_;
  Tensor t = xt::zeros<float>(shape());
  if (kind_ == Kind::Bool)
    for (std::size_t i = 0; i < t.size(); ++i)
      if (bool_.data()[i]) t.data()[i] = kNegInf;
  return t;
}

AttentionMask AttentionMask::reshaped(const Shape& s) const {
  if (numel(s) != numel(shape()))
    throw ShapeError("AttentionMask: cannot view mask " + shape_str(shape()) + " as " +
                     shape_str(s));
  AttentionMask m = *this;
  if (kind_ == Kind::Bool) m.bool_.reshape(s);
  if (kind_ == Kind::Float) m.float_.reshape(s);
  return m;
}

// ---------------------------------------------------------------- scaled dot-product

AttentionResult scaled_dot_product_attention(const Var& q, const Var& k, const Var& v,
                                             const AttentionOptions& o) {
  auto fail = [&](const std::string& why) {
    throw ShapeError("scaled_dot_product_attention: q " + shape_str(q.shape()) + ", k " +
                     shape_str(k.shape()) + ", v " + shape_str(v.shape()) + ": " + why);
  };
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4)
    fail("expected 4-D q [B, H, T, d], k [B, H, S, d], v [B, H, S, dv]");
  const std::size_t B = q.dim(0), H = q.dim(1), T = q.dim(2), d = q.dim(3);
  const std::size_t S = k.dim(2), dv = v.dim(3);
  if (k.dim(0) != B || k.dim(1) != H || v.dim(0) != B || v.dim(1) != H)
    fail("batch and head dims of q, k and v differ");
  if (k.dim(3) != d) fail("q and k have different head dims");
  if (v.dim(2) != S) fail("k and v have different numbers of keys");
  if (o.attn_mask.defined()) {
    const Shape m = o.attn_mask.shape();
    const Shape full{B, H, T, S};
    bool ok = m.size() <= 4;
    for (std::size_t i = 0; ok && i < m.size(); ++i) {
      const std::size_t want = full[4 - m.size() + i];
      ok = m[i] == 1 || m[i] == want;
    }
    if (!ok)
      fail("attn_mask " + shape_str(m) +
           " does not broadcast to [B, H, T, S] = " + shape_str(full));
  }
  if (o.key_padding_mask.defined() && o.key_padding_mask.shape() != Shape{B, S})
    fail("key_padding_mask " + shape_str(o.key_padding_mask.shape()) +
         " must be [B, S] = " + shape_str(Shape{B, S}));
  if (o.causal && S < T) fail("causal attention needs at least as many keys as queries");

  const float scale = o.scale ? *o.scale : 1.0f / std::sqrt(static_cast<float>(d));
  const ScoreBias bias = build_bias(o, B, H, T, S);

  // scores [B*H, T, S] = (q * scale) k^T: a batched NT GEMM, no transposed copy of k.
  Var scores =
      ops::matmul(reshape(q * scale, {B * H, T, d}), reshape(k, {B * H, S, d}), false, true);
  if (bias.has_bias) scores = scores + ops::constant(bias.bias);
  Var w = ops::softmax(scores, -1);
  if (bias.has_keep) w = w * ops::constant(bias.keep);
  if (o.training && o.dropout > 0.0f)
    w = ops::dropout(w, o.dropout, true, o.generator ? *o.generator : default_generator());
  AttentionResult r;
  r.output = reshape(ops::matmul(w, reshape(v, {B * H, S, dv})), {B, H, T, dv});
  if (o.need_weights) r.weights = reshape(w, {B, H, T, S});
  return r;
}

// ---------------------------------------------------------------- MultiheadAttention

MultiheadAttention::MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, float dropout,
                                       bool bias, bool batch_first, Generator& gen)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      head_dim_(num_heads ? embed_dim / num_heads : 0),
      dropout_(dropout),
      batch_first_(batch_first),
      gen_(&gen) {
  if (embed_dim == 0 || num_heads == 0 || embed_dim % num_heads != 0)
    throw ShapeError("MultiheadAttention: embed_dim " + str(embed_dim) +
                     " must be a positive multiple of num_heads " + str(num_heads));
  if (!(dropout >= 0.0f && dropout <= 1.0f))
    throw ShapeError("MultiheadAttention: dropout must be in [0, 1], got " +
                     std::to_string(dropout));
  const std::size_t E = embed_dim;
  in_proj_weight =
      register_parameter("in_proj_weight", init::xavier_uniform({3 * E, E}, 1.0f, gen));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", init::zeros({3 * E}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(E, E, bias, gen));
  if (bias) out_proj->bias.mutable_value().fill(0.0f);
}

MultiheadAttention::Output MultiheadAttention::forward(
    const Var& query, const Var& key, const Var& value, const AttentionMask& key_padding_mask,
    bool need_weights, const AttentionMask& attn_mask, bool average_attn_weights, bool is_causal) {
  const std::size_t E = embed_dim_, H = num_heads_, d = head_dim_;
  const std::string layout = batch_first_ ? "[B, T, E]" : "[T, B, E]";
  auto fail = [&](const std::string& why) {
    throw ShapeError("MultiheadAttention(embed_dim=" + str(E) + ", num_heads=" + str(H) +
                     (batch_first_ ? ", batch_first" : "") + "): query " +
                     shape_str(query.shape()) + ", key " + shape_str(key.shape()) + ", value " +
                     shape_str(value.shape()) + ": " + why);
  };
  if (query.ndim() != 3 || key.ndim() != 3 || value.ndim() != 3)
    fail("expected 3-D inputs " + layout);
  if (query.dim(2) != E || key.dim(2) != E || value.dim(2) != E)
    fail("the last dim of query, key and value must be embed_dim " + str(E));
  const std::size_t bax = batch_first_ ? 0 : 1, tax = 1 - bax;
  const std::size_t B = query.dim(bax), T = query.dim(tax), S = key.dim(tax);
  if (key.dim(bax) != B || value.dim(bax) != B) fail("batch sizes differ");
  if (value.dim(tax) != S) fail("key and value have different sequence lengths");

  AttentionOptions o;
  if (attn_mask.defined()) {
    const Shape m = attn_mask.shape();
    if (m == Shape{T, S})
      o.attn_mask = attn_mask;
    else if (m == Shape{B * H, T, S})
      o.attn_mask = attn_mask.reshaped({B, H, T, S});
    else
      fail("attn_mask " + shape_str(m) + " must be [T, S] = " + shape_str(Shape{T, S}) +
           " or [B * num_heads, T, S] = " + shape_str(Shape{B * H, T, S}));
  }
  if (key_padding_mask.defined()) {
    if (key_padding_mask.shape() != Shape{B, S})
      fail("key_padding_mask " + shape_str(key_padding_mask.shape()) +
           " must be [B, S] = " + shape_str(Shape{B, S}));
    o.key_padding_mask = key_padding_mask;
  }
  o.causal = is_causal;
  if (is_causal && T != S) fail("is_causal needs as many queries as keys");
  o.dropout = dropout_;
  o.training = is_training();
  o.generator = gen_;
  o.need_weights = need_weights;

  // The heads stay where the projections put them ([B, L, E] or [L, B, E] column blocks):
  // the attention ops read and write them in place, no split or merge copies.
  ops::HeadSlice qh, kh, vh;
  if (query.node() == key.node() && key.node() == value.node()) {
    // Self-attention: one GEMM against the packed [3E, E] weight; q, k, v are its thirds.
    Var qkv = ops::linear(query, in_proj_weight, in_proj_bias);
    qh = {qkv, 0, d}, kh = {qkv, E, d}, vh = {qkv, 2 * E, d};
  } else {
    auto part = [&](const Var& x, std::size_t i) {
      Var w = ops::narrow(in_proj_weight, 0, i * E, E);
      Var b = in_proj_bias.defined() ? ops::narrow(in_proj_bias, 0, i * E, E) : Var();
      return ops::HeadSlice{ops::linear(x, w, b), 0, d};
    };
    qh = part(query, 0), kh = part(key, 1), vh = part(value, 2);
  }
  const ScoreBias bias = build_bias(o, B, H, T, S);
  const bool time_major = !batch_first_;
  Var w = ops::attention_weights(qh, kh, H, 1.0f / std::sqrt(static_cast<float>(d)), time_major,
                                 bias.has_bias ? &bias.bias : nullptr);
  if (bias.has_keep) w = w * ops::constant(keep_factor(bias, B, H, T));
  if (o.training && o.dropout > 0.0f) w = ops::dropout(w, o.dropout, true, *gen_);
  Var merged = ops::attention_combine(w, vh, time_major);  // [B, T, E] or [T, B, E]
  Output out;
  out.output = out_proj->forward(merged);
  if (need_weights) out.weights = average_attn_weights ? ops::mean(w, {1}) : w;
  return out;
}

Var MultiheadAttention::step(const Var& x, KVCacheLayer& cache) {
  const std::size_t E = embed_dim_, H = num_heads_, d = head_dim_;
  if (x.ndim() != 2 || x.dim(1) != E)
    throw ShapeError("MultiheadAttention::step: input " + shape_str(x.shape()) +
                     " must be [B, embed_dim] = [B, " + str(E) + "]");
  const std::size_t B = x.dim(0);
  if (cache.keys.defined() &&
      (cache.keys.dim(0) != B || cache.keys.dim(1) != H || cache.keys.dim(3) != d))
    throw ShapeError("MultiheadAttention::step: input " + shape_str(x.shape()) +
                     " does not fit the cached keys " + shape_str(cache.keys.shape()) +
                     " (expected [B, num_heads, t, head_dim] = [" + str(B) + ", " + str(H) +
                     ", t, " + str(d) + "])");
  std::vector<Var> qkv = ops::split(ops::linear(x, in_proj_weight, in_proj_bias), E, -1);
  Var q = reshape(qkv[0], {B, H, 1, d});
  Var k = reshape(qkv[1], {B, H, 1, d});
  Var v = reshape(qkv[2], {B, H, 1, d});
  cache.keys = cache.keys.defined() ? ops::concat({cache.keys, k}, 2) : k;
  cache.values = cache.values.defined() ? ops::concat({cache.values, v}, 2) : v;
  AttentionOptions o;
  o.dropout = dropout_;
  o.training = is_training();
  o.generator = gen_;
  o.need_weights = false;
  AttentionResult a = scaled_dot_product_attention(q, cache.keys, cache.values, o);
  return out_proj->forward(reshape(a.output, {B, E}));
}

}  // namespace unroll::nn
