#pragma once
// Reductions over axes. Axes are int; a negative axis counts from the end (-1 = last).
// keepdims keeps each reduced axis with size 1 (PyTorch keepdim). Every axis-wise kernel
// views the tensor as [outer, n, inner] around the reduced axis: no copies, no transposes.

#include <cstddef>
#include <vector>

#include "autograd/var.hpp"

namespace unroll::ops {

/// sum(x) = sum of all elements. [...] -> [].
Var sum(const Var& x);
/// sum(x, axes) = sum over the given axes. [.., d_a, ..] -> [.., ..] ([.., 1, ..] with
/// keepdims). The gradient broadcasts back over the reduced axes. Axes must be distinct and
/// the list non-empty (PyTorch reads dim=[] as "all axes"; here that is a ShapeError).
Var sum(const Var& x, std::vector<int> axes, bool keepdims = false);
/// mean(x) = sum(x) / numel(x). [...] -> [].
Var mean(const Var& x);
/// mean(x, axes) = sum(x, axes) / prod(d_a). Same shapes as sum(x, axes, keepdims).
Var mean(const Var& x, std::vector<int> axes, bool keepdims = false);

/// Values and positions (along the reduced axis) of a max over one axis.
struct MaxResult {
  Var values;           ///< [.., ..] (or [.., 1, ..] with keepdims)
  IndexTensor indices;  ///< same shape as values; constant (no gradient)
};
/// max(x, a) = (max_k x[.., k, ..], argmax_k). [.., d, ..] -> [.., ..]. Ties pick the first
/// index and the gradient flows only to it; a NaN wins (propagates), as in PyTorch.
MaxResult max(const Var& x, int axis, bool keepdims = false);
/// max(x) = max of all elements. [...] -> []. Ties share the gradient equally (PyTorch's
/// torch.max(x) backward, evenly_distribute_backward).
Var max(const Var& x);

/// logsumexp(x, a) = m + log sum_k exp(x[.., k, ..] - m), m = max_k x (no overflow).
/// [.., d, ..] -> [.., ..]; d/dx = softmax(x, a).
Var logsumexp(const Var& x, int axis, bool keepdims = false);

namespace detail {
/// `axis` (negative from the end) as an index in [0, rank); throws ShapeError naming `op`,
/// the axis and the rank otherwise.
std::size_t normalize_axis(const char* op, int axis, std::size_t rank);
/// A shape viewed as [outer, n, inner] around one axis.
struct AxisView {
  /// Product of the extents before the axis.
  std::size_t outer = 1, n = 1, inner = 1;
  /// \var inner
  /// Product of the extents after the axis.
  /// \var n
  /// Extent of the axis.
};
AxisView axis_view(const Shape& shape, std::size_t axis);
/// `shape` without `axis` (or with it set to 1 when keepdims).
Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims);
/// p[i] = exp(p[i]) for i < n, SIMD (xsimd) where available.
void exp_inplace(float* p, std::size_t n);
/// Max of p[0..n) (-inf when n == 0; NaNs are skipped), vectorised.
float max_contiguous(const float* p, std::size_t n);
/// Sum of p[0..n) with several double accumulators (accurate, and it vectorises).
double sum_contiguous(const float* p, std::size_t n);
/// Sum of f(j) for j < n in double over 8 independent partial sums. A single chain of
/// dependent adds waits on each add's latency; 8 chains vectorise (the layer norms of the
/// Transformer benchmark: 7.1% of its step as one chain, 3.6% as 8).
template <class F>
double sum_of(std::size_t n, F f) {
  double acc[8] = {};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (std::size_t l = 0; l < 8; ++l) acc[l] += f(j + l);
  double tail = 0;
  for (; j < n; ++j) tail += f(j);
  return tail + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
}  // namespace detail

}  // namespace unroll::ops
