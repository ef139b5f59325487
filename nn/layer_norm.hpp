#pragma once
// LayerNorm as a module: PyTorch's nn.LayerNorm over the trailing normalized_shape axes.

#include "nn/module.hpp"

namespace unroll::nn {

/// y = (x - mean) / sqrt(var + eps) * weight + bias over the last normalized_shape.size()
/// axes. x [..., *normalized_shape] -> same shape. Parameters `weight` (ones) and `bias`
/// (zeros), both of shape normalized_shape, only when elementwise_affine.
class LayerNorm : public Module {
 public:
  /// Normalises over the trailing `normalized_shape` axes; bias = false omits the bias parameter.
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f, bool elementwise_affine = true,
                     bool bias = true);
  /// Throws ShapeError when x does not end in normalized_shape.
  Var forward(const Var& x);
  /// Same as forward(x).
  Var operator()(const Var& x) { return forward(x); }
  /// The trailing shape normalised over.
  const Shape& normalized_shape() const { return shape_; }
  /// The epsilon added to the variance.
  float eps() const { return eps_; }
  /// Affine scale (ones) and shift (zeros), both of shape normalized_shape.
  Var weight, bias;  ///< undefined without elementwise_affine (bias also with bias = false)

 private:
  Shape shape_;
  float eps_;
};

}  // namespace unroll::nn
