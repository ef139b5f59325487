#pragma once
// Softmax and log-softmax along one axis, computed with the max subtracted so logits of
// any magnitude give finite results. Shapes are unchanged: [.., d, ..] -> [.., d, ..].

#include "autograd/var.hpp"

namespace unroll::ops {

/// softmax(x, a)[.., k, ..] = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j along axis a.
/// d/dx: dx = y * (g - sum_a(g * y)).
Var softmax(const Var& x, int axis = -1);
/// log_softmax(x, a) = x - m - log sum_j exp(x_j - m) along axis a.
/// d/dx: dx = g - softmax(x) * sum_a(g).
Var log_softmax(const Var& x, int axis = -1);

}  // namespace unroll::ops
