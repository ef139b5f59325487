#pragma once
// Loss functions with PyTorch's semantics and reductions.
//
// Class-index losses (cross_entropy, nll_loss) take the classes on the LAST axis:
// scores [..., C] with targets [...] (any number of leading axes, including none:
// scores [C] with a 0-d target). For rank 2 this is PyTorch's [N, C] / [N]; PyTorch's
// [N, C, d1, ...] layout (classes on axis 1) is not accepted: move the class axis last.
//
// ignore_index: targets equal to it contribute 0 to the loss and get zero gradient;
// Reduction::Mean divides by the number of targets that are NOT ignored (PyTorch). When
// every target is ignored PyTorch returns NaN for Mean; here Mean returns 0 with a zero
// gradient, so a fully padded batch does not poison training.

#include <cstdint>

#include "autograd/var.hpp"

namespace unroll::ops {

/// How per-element losses are combined (PyTorch's reduction='mean' | 'sum' | 'none').
enum class Reduction { Mean, Sum, None };

/// cross_entropy(z, t) = -log softmax(z)[t] = logsumexp_c z_c - z_t per position, reduced.
/// z [..., C] logits, t [...] class indices in [0, C) or ignore_index. Output [] for
/// Mean/Sum, [...] for None. Fused: dz = (softmax(z) - onehot(t)) * g (/ count for Mean).
Var cross_entropy(const Var& logits, const IndexTensor& target, Reduction r = Reduction::Mean,
                  std::int64_t ignore_index = -100);
/// nll_loss(lp, t) = -lp[t] per position, reduced. lp [..., C] log-probabilities, t [...].
/// Output [] for Mean/Sum, [...] for None.
Var nll_loss(const Var& log_probs, const IndexTensor& target, Reduction r = Reduction::Mean,
             std::int64_t ignore_index = -100);
/// mse_loss(x, t) = (x - t)^2 per element, reduced. x and t: the same shape [...] (no
/// broadcasting); t may require grad. Output [] for Mean/Sum, [...] for None.
Var mse_loss(const Var& input, const Var& target, Reduction r = Reduction::Mean);
/// binary_cross_entropy_with_logits(x, t) = max(x, 0) - x t + log1p(exp(-|x|)) per element
/// (= -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), without overflow), reduced.
/// x and t: the same shape [...]; t may require grad (dt = -x). dx = sigmoid(x) - t.
Var binary_cross_entropy_with_logits(const Var& logits, const Var& target,
                                     Reduction r = Reduction::Mean);

}  // namespace unroll::ops
