#include "nn/layer_norm.hpp"

#include "nn/init.hpp"
#include "ops/layer_norm.hpp"

namespace unroll::nn {

LayerNorm::LayerNorm(Shape normalized_shape, float eps, bool elementwise_affine, bool has_bias)
    : shape_(std::move(normalized_shape)), eps_(eps) {
  if (shape_.empty() || numel(shape_) == 0)
    throw ShapeError("LayerNorm: normalized_shape must be non-empty with no zero dims, got " +
                     shape_str(shape_));
  if (elementwise_affine) {
    weight = register_parameter("weight", init::ones(shape_));
    if (has_bias) bias = register_parameter("bias", init::zeros(shape_));
  }
}

Var LayerNorm::forward(const Var& x) {
  const Shape xs = x.shape();
  const std::size_t k = shape_.size();
  if (xs.size() < k || !std::equal(shape_.begin(), shape_.end(), xs.end() - static_cast<long>(k)))
    throw ShapeError("LayerNorm: input " + shape_str(xs) + " must end in normalized_shape " +
                     shape_str(shape_));
  return ops::layer_norm(x, weight, bias, k, eps_);
}

}  // namespace unroll::nn
