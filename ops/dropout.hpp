#pragma once
// Inverted dropout: the rescaling happens in training, so evaluation is the identity.

#include "autograd/random.hpp"
#include "autograd/var.hpp"

namespace unroll::ops {

/// dropout(x, p) = x * m / (1 - p), m_i ~ Bernoulli(1 - p) drawn from `gen`, in training;
/// x itself (the same Var) when !training or p == 0; zeros when p == 1. p in [0, 1].
/// Shape [...] -> [...]; the gradient uses the same mask.
Var dropout(const Var& x, float p, bool training, Generator& gen = default_generator());

}  // namespace unroll::ops
