#pragma once
// Matrix products on OpenBLAS sgemm. Transposes are GEMM flags, never copies.

#include "autograd/var.hpp"

namespace unroll::ops {

/// matmul(a, b) = op(a) . op(b), op = transpose when the flag is set.
/// 2-D: a [M, K], b [K, N] -> [M, N]. Batched: a [B, M, K], b [B, K, N] -> [B, M, N];
/// a [B, M, K], b [K, N] -> [B, M, N] (b shared across the batch).
/// With transpose_a, a is stored [K, M] ([B, K, M]); with transpose_b, b is [N, K].
Var matmul(const Var& a, const Var& b, bool transpose_a = false, bool transpose_b = false);

/// linear(x, W, b) = x W^T + b.  x [..., in], W [out, in], b [out] (may be undefined)
/// -> [..., out]. PyTorch's F.linear.
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

/// add_linear(c, x, W) = c + x W^T.  c [..., out] (the output's shape), x [..., in],
/// W [out, in] -> [..., out]. One GEMM that adds c as it writes, no separate add pass:
/// a recurrent cell's `xp + h W_hh^T` (PyTorch's addmm, with W stored [out, in]).
Var add_linear(const Var& c, const Var& x, const Var& weight);

}  // namespace unroll::ops
