#pragma once
// Indexing ops: rows picked by integer indices, and element-wise choice by boolean masks.
// Indices and masks are constants (never differentiated).

#include <cstdint>

#include "autograd/var.hpp"

namespace unroll {
/// Dense row-major bool tensor for masks: true = masked out (PyTorch's convention).
using BoolTensor = xt::xarray<bool, xt::layout_type::row_major>;
}  // namespace unroll

namespace unroll::ops {

/// index_select(x, a, idx): y[.., k, ..] = x[.., idx[k], ..] along axis a; idx 1-D [m].
/// [.., d, ..] -> [.., m, ..]; repeated indices sum their gradients.
Var index_select(const Var& x, int axis, const IndexTensor& index);
/// gather(x, a, idx) (torch.gather): y[i] = x[i with i_a replaced by idx[i]]; idx has x's
/// rank and dims <= x's off axis a. Output shape = idx's shape.
Var gather(const Var& x, int axis, const IndexTensor& index);
/// embedding(ids, W) = W[ids]: ids [...] in [0, num), W [num, dim] -> [..., dim]. Repeated
/// ids sum their gradients; rows with id == padding_idx (when >= 0) get no gradient.
Var embedding(const IndexTensor& ids, const Var& weight, std::int64_t padding_idx = -1);
/// masked_fill(x, m, v) = m ? v : x, with m broadcast to x's shape; gradient 0 where m.
Var masked_fill(const Var& x, const BoolTensor& mask, float value);
/// where(c, a, b) = c ? a : b, broadcast among c, a and b.
Var where(const BoolTensor& cond, const Var& a, const Var& b);

}  // namespace unroll::ops
