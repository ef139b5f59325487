#pragma once
// Gradient clipping over many parameters at once (torch.nn.utils.clip_grad_norm_ and
// clip_grad_value_). Parameters without a gradient are skipped, as PyTorch skips None.

#include <vector>

#include "autograd/var.hpp"

namespace unroll::optim {

/// total = (sum_p ||grad_p||_q^q)^(1/q) over every parameter with a gradient, viewed as one
/// vector (q = norm_type; q = INFINITY: max |g|). Scales every gradient by
/// min(1, max_norm / (total + 1e-6)) (PyTorch 1.13's clamp; a no-op when total is well below
/// max_norm) and returns total (0 when no parameter has a gradient). With
/// error_if_nonfinite, a NaN/Inf total throws std::runtime_error naming the norm and leaves
/// the gradients untouched; without it they are scaled by the NaN/0 factor as PyTorch.
/// std::invalid_argument for norm_type <= 0 or NaN, or max_norm < 0.
float clip_grad_norm(const std::vector<Var>& params, float max_norm, float norm_type = 2.0f,
                     bool error_if_nonfinite = false);

/// Clamps every gradient element to [-clip_value, clip_value]. std::invalid_argument for
/// clip_value < 0 or NaN.
void clip_grad_value(const std::vector<Var>& params, float clip_value);

}  // namespace unroll::optim
