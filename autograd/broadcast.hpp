#pragma once
// Broadcasting of shapes, forward and backward (a gradient summed back to an input's shape).

#include "autograd/tensor.hpp"

namespace unroll::autograd {

/// Sum `grad` over the axes along which `target` was broadcast to give grad's shape.
/// Throws ShapeError when `target` does not broadcast to grad's shape.
Tensor reduce_to_shape(const Tensor& grad, const Shape& target);
/// Numpy broadcast of two shapes; throws ShapeError naming `op` when incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

}  // namespace unroll::autograd
