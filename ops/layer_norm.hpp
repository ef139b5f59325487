#pragma once
// Layer normalisation over the trailing axes, fused: forward and backward are hand-written
// row loops (one pass for the statistics, one for the output), not a chain of ops.

#include <cstddef>

#include "autograd/var.hpp"

namespace unroll::ops {

/// layer_norm(x, w, b, k, eps) = (x - mu) / sqrt(var + eps) * w + b, with mu and the biased
/// var taken over the last k axes of x. x [..., D1..Dk]; weight and bias [D1..Dk] (either may
/// be undefined: no scale / no shift) -> same shape as x. A row with zero variance maps to b.
/// d/dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * w, xhat = (x - mu) * rstd.
Var layer_norm(const Var& x, const Var& weight, const Var& bias, std::size_t normalized_dims = 1,
               float eps = 1e-5f);

}  // namespace unroll::ops
