#pragma once
// Multi-head attention on the projections' own layout. The heads of q, k and v are column
// blocks of the 3-D projection outputs; strided GEMMs read and write them in place, so
// attention makes no head split or head merge copies (nor a scaled copy of q).

#include "autograd/var.hpp"

namespace unroll::ops {

/// The heads of one of q, k, v inside a 3-D tensor `source` [B, L, width] (time-major:
/// [L, B, width]): head h is the columns [offset + h * head_dim, offset + (h + 1) * head_dim).
/// q, k and v may be three slices of one packed projection [B, L, 3E].
struct HeadSlice {
  /// The projection holding the heads.
  Var source;
  /// First column of head 0.
  std::size_t offset = 0;
  /// Columns per head.
  std::size_t head_dim = 0;
};

/// attention_weights(q, k)[b, h] = softmax(scale * q_bh k_bh^T + bias, over keys):
/// q [B, T, *], k [B, S, *] (time-major [T, B, *], [S, B, *]) -> P [B, H, T, S].
/// bias (optional, additive, e.g. -inf for masked keys): [T, S] or [B * H, T, S].
/// Gradients: dS = P * (dP - rowsum(dP * P)), dq_bh = scale dS k_bh, dk_bh = scale dS^T q_bh.
Var attention_weights(const HeadSlice& q, const HeadSlice& k, std::size_t heads, float scale,
                      bool time_major = false, const Tensor* bias = nullptr);

/// attention_combine(P, v)[b, t, h*dv + j] = sum_s P[b, h, t, s] v_bh[s, j]:
/// P [B, H, T, S], v [B, S, *] (time-major [S, B, *]) -> [B, T, H * dv] (time-major
/// [T, B, H * dv]), the heads already merged. Gradients: dP_bh = dO_bh v_bh^T,
/// dv_bh = P_bh^T dO_bh.
Var attention_combine(const Var& weights, const HeadSlice& v, bool time_major = false);

}  // namespace unroll::ops
