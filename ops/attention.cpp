// Every head is a strided sub-matrix of its projection: GEMMs with explicit row strides.
#include "ops/attention.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tape.hpp"
#include "ops/blas.hpp"
#include "ops/reductions.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;

namespace {

using blas::gemm;

using std::to_string;

// Where head h of batch entry b starts in a [B, L, W] (or time-major [L, B, W]) buffer, and
// the stride between its rows.
struct Heads {
  std::size_t B = 0, L = 0, W = 0, offset = 0, d = 0;
  bool time_major = false;
  std::size_t row() const { return time_major ? B * W : W; }
  std::size_t at(std::size_t b, std::size_t h) const {
    return (time_major ? b * W : b * L * W) + offset + h * d;
  }
};

Heads heads_of(const char* op, const char* name, const HeadSlice& s, std::size_t H,
               bool time_major) {
  if (!s.source.defined()) throw ShapeError(std::string(op) + ": " + name + " is undefined");
  const Shape& sh = s.source.shape();
  if (sh.size() != 3)
    throw ShapeError(std::string(op) + ": " + name + " " + shape_str(sh) + " must be 3-D " +
                     (time_major ? "[L, B, width]" : "[B, L, width]"));
  if (s.head_dim == 0 || s.offset + H * s.head_dim > sh[2])
    throw ShapeError(
        std::string(op) + ": " + name + " " + shape_str(sh) + ": " + to_string(H) + " heads of " +
        to_string(s.head_dim) + " columns from column " + to_string(s.offset) +
        " need head_dim > 0 and offset + heads * head_dim <= width " + to_string(sh[2]));
  Heads r;
  r.B = time_major ? sh[1] : sh[0];
  r.L = time_major ? sh[0] : sh[1];
  r.W = sh[2];
  r.offset = s.offset;
  r.d = s.head_dim;
  r.time_major = time_major;
  return r;
}

// The gradient buffer of input i for GEMMs that write the column blocks `cols` of every
// row (each element once) with the returned beta. A fresh buffer gets every other column
// zeroed and beta 0; a buffer holding a gradient already is added onto (beta 1). Blocks
// that overlap are zeroed too and accumulated (beta 1).
float* block_grad(GradSink& g, std::size_t i, std::vector<std::pair<std::size_t, std::size_t>> cols,
                  float& beta) {
  Tensor& buf = g.buffer(i, beta);
  if (beta != 0.0f) return buf.data();
  const std::size_t W = buf.shape().back(), rows = buf.size() / W;
  std::sort(cols.begin(), cols.end());
  bool overlap = false;
  for (std::size_t k = 1; k < cols.size(); ++k)
    overlap = overlap || cols[k].first < cols[k - 1].first + cols[k - 1].second;
  if (overlap) {
    std::fill(buf.begin(), buf.end(), 0.0f);
    beta = 1.0f;
    return buf.data();
  }
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = buf.data() + r * W;
    std::size_t c = 0;
    for (const auto& [start, width] : cols) {
      std::fill(row + c, row + start, 0.0f);
      c = start + width;
    }
    std::fill(row + c, row + W, 0.0f);
  }
  return buf.data();
}

// Every row of p [rows, n] becomes softmax(row).
void softmax_rows(float* p, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = p + r * n;
    const float m = detail::max_contiguous(row, n);
    for (std::size_t s = 0; s < n; ++s) row[s] -= m;
  }
  detail::exp_inplace(p, rows * n);  // one SIMD pass
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = p + r * n;
    const float inv = static_cast<float>(1.0 / detail::sum_contiguous(row, n));
    for (std::size_t s = 0; s < n; ++s) row[s] *= inv;
  }
}

}  // namespace

Var attention_weights(const HeadSlice& q, const HeadSlice& k, std::size_t H, float scale,
                      bool time_major, const Tensor* bias) {
  const char* op = "attention_weights";
  if (H == 0) throw ShapeError(std::string(op) + ": heads must be > 0");
  const Heads hq = heads_of(op, "q", q, H, time_major);
  const Heads hk = heads_of(op, "k", k, H, time_major);
  const std::size_t B = hq.B, T = hq.L, S = hk.L, d = hq.d;
  if (hk.B != B)
    throw ShapeError(std::string(op) + ": q " + shape_str(q.source.shape()) + " and k " +
                     shape_str(k.source.shape()) + " have different batch sizes");
  if (hk.d != d)
    throw ShapeError(std::string(op) + ": q and k head_dim differ (" + to_string(d) + " and " +
                     to_string(hk.d) + ")");
  bool bias_per_head = false;
  if (bias) {
    const Shape want2{T, S}, want3{B * H, T, S};
    const Shape got = shape_of(*bias);
    if (got != want2 && got != want3)
      throw ShapeError(std::string(op) + ": bias " + shape_str(got) + " must be [T, S] = " +
                       shape_str(want2) + " or [B * heads, T, S] = " + shape_str(want3));
    bias_per_head = got == want3;
  }

  Tensor p = xt::empty<float>({B, H, T, S});
  const float* Q = q.source.value().data();
  const float* K = k.source.value().data();
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h) {
      float* P = p.data() + (b * H + h) * T * S;
      float beta = 0.0f;
      if (bias) {  // start at the bias, then add the scores (GEMM beta = 1)
        const float* src = bias->data() + (bias_per_head ? (b * H + h) * T * S : 0);
        std::copy(src, src + T * S, P);
        beta = 1.0f;
      }
      gemm(false, true, T, S, d, scale, Q + hq.at(b, h), hq.row(), K + hk.at(b, h), hk.row(), beta,
           P, S);
    }
  softmax_rows(p.data(), B * H * T, S);

  // q and k may be slices of one projection: it is then one input receiving both blocks.
  const bool shared = q.source.node() == k.source.node();
  std::vector<Var> inputs{q.source};
  if (!shared) inputs.push_back(k.source);
  const std::size_t ki = shared ? 0 : 1;
  return autograd::record(op, std::move(p), inputs, [=](const Node& n, GradSink& g) {
    const float* P = n.value.data();
    const float* dP = n.grad.data();
    const float* Qv = n.inputs[0]->value.data();
    const float* Kv = n.inputs[ki]->value.data();
    float *dQ = nullptr, *dK = nullptr;
    float bq = 0.0f, bk = 0.0f;
    if (shared) {
      if (g.needs(0)) {
        dQ = block_grad(g, 0, {{hq.offset, H * d}, {hk.offset, H * d}}, bq);
        dK = dQ;
        bk = bq;
      }
    } else {
      if (g.needs(0)) dQ = block_grad(g, 0, {{hq.offset, H * d}}, bq);
      if (g.needs(1)) dK = block_grad(g, 1, {{hk.offset, H * d}}, bk);
    }
    std::vector<float> dS(T * S);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t h = 0; h < H; ++h) {
        const std::size_t o = (b * H + h) * T * S;
        for (std::size_t t = 0; t < T; ++t) {  // dS = P * (dP - rowsum(dP * P))
          const float* pr = P + o + t * S;
          const float* gr = dP + o + t * S;
          double dot = 0;
          for (std::size_t s = 0; s < S; ++s) dot += static_cast<double>(pr[s]) * gr[s];
          const auto df = static_cast<float>(dot);
          for (std::size_t s = 0; s < S; ++s) dS[t * S + s] = pr[s] * (gr[s] - df);
        }
        if (dQ)  // dq_bh [T, d] = scale dS [T, S] k_bh [S, d]
          gemm(false, false, T, d, S, scale, dS.data(), S, Kv + hk.at(b, h), hk.row(), bq,
               dQ + hq.at(b, h), hq.row());
        if (dK)  // dk_bh [S, d] = scale dS^T q_bh [T, d]
          gemm(true, false, S, d, T, scale, dS.data(), S, Qv + hq.at(b, h), hq.row(), bk,
               dK + hk.at(b, h), hk.row());
      }
  });
}

Var attention_combine(const Var& weights, const HeadSlice& v, bool time_major) {
  const char* op = "attention_combine";
  if (!weights.defined() || weights.ndim() != 4)
    throw ShapeError(std::string(op) + ": weights " +
                     (weights.defined() ? shape_str(weights.shape()) : std::string("undefined")) +
                     " must be 4-D [B, heads, T, S]");
  const std::size_t B = weights.dim(0), H = weights.dim(1), T = weights.dim(2), S = weights.dim(3);
  if (H == 0) throw ShapeError(std::string(op) + ": weights have 0 heads");
  const Heads hv = heads_of(op, "v", v, H, time_major);
  const std::size_t dv = hv.d;
  if (hv.B != B || hv.L != S)
    throw ShapeError(std::string(op) + ": weights " + shape_str(weights.shape()) + " and v " +
                     shape_str(v.source.shape()) + ": v must hold B = " + to_string(B) +
                     " sequences of S = " + to_string(S) + " keys");
  Heads ho;  // the output: heads merged, [B, T, H * dv] or [T, B, H * dv]
  ho.B = B;
  ho.L = T;
  ho.W = H * dv;
  ho.d = dv;
  ho.time_major = time_major;
  Tensor out = xt::empty<float>(time_major ? Shape{T, B, H * dv} : Shape{B, T, H * dv});
  const float* P = weights.value().data();
  const float* V = v.source.value().data();
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h)
      gemm(false, false, T, dv, S, 1.0f, P + (b * H + h) * T * S, S, V + hv.at(b, h), hv.row(),
           0.0f, out.data() + ho.at(b, h), ho.row());
  return autograd::record(
      op, std::move(out), {weights, v.source},
      [=](const Node& n, GradSink& g) {
        const float* Pv = n.inputs[0]->value.data();
        const float* Vv = n.inputs[1]->value.data();
        const float* dO = n.grad.data();
        float bp = 0.0f, bv = 0.0f;
        float* dP = g.needs(0) ? g.buffer(0, bp).data() : nullptr;
        float* dV = g.needs(1) ? block_grad(g, 1, {{hv.offset, H * dv}}, bv) : nullptr;
        for (std::size_t b = 0; b < B; ++b)
          for (std::size_t h = 0; h < H; ++h) {
            const std::size_t o = (b * H + h) * T * S;
            if (dP)  // dP_bh [T, S] = dO_bh [T, dv] v_bh^T
              gemm(false, true, T, S, dv, 1.0f, dO + ho.at(b, h), ho.row(), Vv + hv.at(b, h),
                   hv.row(), bp, dP + o, S);
            if (dV)  // dv_bh [S, dv] = P_bh^T dO_bh
              gemm(true, false, S, dv, T, 1.0f, Pv + o, S, dO + ho.at(b, h), ho.row(), bv,
                   dV + hv.at(b, h), hv.row());
          }
      },
      autograd::kReadsInputs);
}

}  // namespace unroll::ops
