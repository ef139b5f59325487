#pragma once
// Parameter initialisers: tensors drawn from a seeded Generator. Fans follow PyTorch:
// for a weight [out, in, ...], fan_in = in * receptive field, fan_out = out * receptive field.

#include "autograd/random.hpp"
#include "autograd/tensor.hpp"

namespace unroll::nn::init {

/// U(lo, hi).
Tensor uniform(const Shape& s, float lo, float hi, Generator& gen = default_generator());
/// N(mean, std^2).
Tensor normal(const Shape& s, float mean = 0.0f, float stddev = 1.0f,
              Generator& gen = default_generator());
/// All zeros / all ones / constant.
Tensor zeros(const Shape& s);
Tensor ones(const Shape& s);
Tensor constant(const Shape& s, float value);
/// Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform(const Shape& s, float gain = 1.0f, Generator& gen = default_generator());
/// Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal(const Shape& s, float gain = 1.0f, Generator& gen = default_generator());
/// He: U(-b, b), b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (leaky_relu slope a).
Tensor kaiming_uniform(const Shape& s, float a = 0.0f, Generator& gen = default_generator());
/// He: N(0, std^2), std = sqrt(2 / (1 + a^2)) / sqrt(fan_in).
Tensor kaiming_normal(const Shape& s, float a = 0.0f, Generator& gen = default_generator());
/// A (semi-)orthogonal matrix [rows, cols] scaled by gain (QR of a normal matrix, signs fixed
/// by R's diagonal as in PyTorch).
Tensor orthogonal(const Shape& s, float gain = 1.0f, Generator& gen = default_generator());

/// fan_in and fan_out of a weight shape (2-D or more); throws for fewer than 2 dims.
std::pair<std::size_t, std::size_t> fans(const Shape& s);

}  // namespace unroll::nn::init
