#include "autograd/broadcast.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "autograd/errors.hpp"

namespace unroll::autograd {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::size_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const std::size_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " do not broadcast (axis " + std::to_string(i) + ": " + std::to_string(da) +
                       " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor reduce_to_shape(const Tensor& grad, const Shape& target) {
  const Shape g = shape_of(grad);
  if (g == target) return grad;
  const std::size_t r = g.size();
  if (target.size() > r)
    throw ShapeError("reduce_to_shape: cannot reduce " + shape_str(g) + " to " + shape_str(target));
  // Stride of each grad axis in the target: 0 on the axes being summed away.
  const std::size_t lead = r - target.size();
  std::vector<std::size_t> ts(r, 0);
  std::size_t stride = 1;
  for (std::size_t i = r; i-- > lead;) {
    const std::size_t t = target[i - lead];
    if (t != g[i] && t != 1)
      throw ShapeError("reduce_to_shape: cannot reduce " + shape_str(g) + " to " +
                       shape_str(target));
    ts[i] = (t == g[i]) ? stride : 0;
    stride *= t;
  }
  Tensor out = xt::zeros<float>(target);
  if (grad.size() == 0) return out;
  // Walk grad in row-major order with an odometer over the outer axes; the innermost axis
  // is a contiguous run that either maps element-wise (stride 1) or sums into one slot.
  const std::size_t inner = r ? g[r - 1] : 1;
  const std::size_t inner_stride = r ? ts[r - 1] : 0;
  const std::size_t outer = grad.size() / inner;
  std::vector<std::size_t> idx(r, 0);
  std::size_t base = 0;
  const float* src = grad.data();
  float* dst = out.data();
  for (std::size_t o = 0; o < outer; ++o) {
    if (inner_stride)
      for (std::size_t j = 0; j < inner; ++j) dst[base + j] += src[j];
    else {
      float s = 0;
      for (std::size_t j = 0; j < inner; ++j) s += src[j];
      dst[base] += s;
    }
    src += inner;
    for (std::size_t k = r - 1; k-- > 0;) {  // advance the odometer over axes r-2 .. 0
      ++idx[k];
      base += ts[k];
      if (idx[k] < g[k]) break;
      base -= ts[k] * idx[k];
      idx[k] = 0;
    }
  }
  return out;
}

}  // namespace unroll::autograd
