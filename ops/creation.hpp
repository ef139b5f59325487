#pragma once
// Constant tensors (no gradient): initial states, masks, targets.

#include "autograd/random.hpp"
#include "autograd/var.hpp"

namespace unroll::ops {

/// zeros(shape): a constant filled with 0.
Var zeros(const Shape& shape);
/// ones(shape): a constant filled with 1.
Var ones(const Shape& shape);
/// full(shape, v): a constant filled with v.
Var full(const Shape& shape, float value);
/// constant(t): wraps a tensor as a Var that needs no gradient.
Var constant(Tensor value);
/// randn(shape, gen): normal(0, 1) constant.
Var randn(const Shape& shape, Generator& gen = default_generator());
/// rand(shape, gen): uniform [0, 1) constant.
Var rand(const Shape& shape, Generator& gen = default_generator());

}  // namespace unroll::ops
