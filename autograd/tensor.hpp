#pragma once
// The value type of the engine: a dense, row-major float32 array from xtensor.
// Integer data (class indices, token ids) travels as IndexTensor and is never differentiated.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace unroll {

/// Dense row-major float32 tensor of any rank (xt::xarray).
using Tensor = xt::xarray<float, xt::layout_type::row_major>;
/// Dense row-major int64 tensor: class targets, token ids, gather indices.
using IndexTensor = xt::xarray<std::int64_t, xt::layout_type::row_major>;
/// A tensor shape as given to constructors and reported in errors.
using Shape = std::vector<std::size_t>;

/// The shape of `t` as a Shape.
Shape shape_of(const Tensor& t);
/// "[2, 3, 4]": shapes as they appear in every error message.
std::string shape_str(const Shape& s);
std::string shape_str(const Tensor& t);
/// Number of elements of a shape (1 for a scalar []).
std::size_t numel(const Shape& s);

}  // namespace unroll
