#pragma once
// Shape ops: views of the same numbers in another shape, order or part. Every output is a
// fresh contiguous Tensor. Axes are int; a negative axis counts from the end (-1 = last).

#include <cstddef>
#include <vector>

#include "autograd/var.hpp"

namespace unroll::ops {

/// reshape(x, s): the same elements, row-major, in shape s; one entry of s may be -1
/// (inferred). x [...] -> s, numel(s) == numel(x).
Var reshape(const Var& x, std::vector<std::ptrdiff_t> shape);
/// flatten(x, a, b): merges axes a..b into one. [d0, .., da, .., db, ..] -> [d0, .., da*..*db, ..].
Var flatten(const Var& x, int start_axis = 0, int end_axis = -1);
/// transpose(x, a, b): swaps axes a and b. [.., da, .., db, ..] -> [.., db, .., da, ..].
Var transpose(const Var& x, int axis0, int axis1);
/// permute(x, p): reorders axes, y.shape[k] = x.shape[p[k]], y[i] = x[j] with j[p[k]] = i[k]
/// (torch.permute).
Var permute(const Var& x, std::vector<int> axes);

/// select(x, a, i) = x[.., i, ..] along axis a, which is removed. [.., d, ..] -> [.., ..].
Var select(const Var& x, int axis, std::size_t index);
/// narrow(x, a, s, n) = x[.., s:s+n, ..] along axis a. [.., d, ..] -> [.., n, ..].
Var narrow(const Var& x, int axis, std::size_t start, std::size_t length);
/// slice(x, a, s, e, k) = x[.., s:e:k, ..] along axis a, python rules: negative s/e count
/// from the end, out-of-range s/e clamp, k >= 1. [.., d, ..] -> [.., ceil((e-s)/k), ..].
Var slice(const Var& x, int axis, std::ptrdiff_t start, std::ptrdiff_t end,
          std::ptrdiff_t step = 1);

/// concat(xs, a): joins along axis a; all other dims equal. [.., d_i, ..] -> [.., sum d_i, ..].
Var concat(const std::vector<Var>& xs, int axis);
/// stack(xs, a): joins same-shape inputs along a new axis a. n x [...] -> [.., n, ..].
Var stack(const std::vector<Var>& xs, int axis = 0);

/// split(x, k, a): pieces of size k along axis a, the last one possibly smaller. The pieces'
/// backwards write x's gradient together, in one pass, when the first of them runs.
std::vector<Var> split(const Var& x, std::size_t split_size, int axis);
/// split(x, sizes, a): pieces of the given sizes along axis a; sizes sum to x.shape[a].
std::vector<Var> split(const Var& x, const std::vector<std::size_t>& sizes, int axis);
/// unbind(x, a): every index along axis a, which is removed (torch.unbind): select(x, a, i)
/// for each i in one call. [.., d, ..] -> d x [.., ..].
std::vector<Var> unbind(const Var& x, int axis = 0);
/// chunk(x, n, a): torch.chunk: pieces of ceil(d/n) along axis a (the last smaller; there
/// may be fewer than n pieces).
std::vector<Var> chunk(const Var& x, std::size_t chunks, int axis);

/// unsqueeze(x, a): inserts an axis of size 1 at position a in the output (a in [-r-1, r]).
Var unsqueeze(const Var& x, int axis);
/// squeeze(x, a): removes axis a, which must have size 1. [.., 1, ..] -> [.., ..].
Var squeeze(const Var& x, int axis);
/// expand(x, s): broadcasts x to shape s (numpy rules: x's dims, right-aligned, are 1 or
/// equal to s's). The gradient sums over the broadcast axes.
Var expand(const Var& x, const Shape& shape);

}  // namespace unroll::ops
