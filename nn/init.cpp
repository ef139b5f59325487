// Uses xtensor-blas (LAPACK QR) for orthogonal init; no <cblas.h> in this file.
#include "nn/init.hpp"

#include <cmath>
#include <stdexcept>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace unroll::nn::init {

Tensor uniform(const Shape& s, float lo, float hi, Generator& gen) {
  return gen.uniform_tensor(s, lo, hi);
}
Tensor normal(const Shape& s, float mean, float stddev, Generator& gen) {
  return gen.normal_tensor(s, mean, stddev);
}
Tensor zeros(const Shape& s) {
  return xt::zeros<float>(s);
}
Tensor ones(const Shape& s) {
  return xt::ones<float>(s);
}
Tensor constant(const Shape& s, float value) {
  Tensor t = xt::empty<float>(s);
  t.fill(value);
  return t;
}

std::pair<std::size_t, std::size_t> fans(const Shape& s) {
  if (s.size() < 2)
    throw std::invalid_argument("init: fan in/out need a weight with at least 2 dims, got " +
                                shape_str(s));
  std::size_t receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= s[i];
  return {s[1] * receptive, s[0] * receptive};
}

Tensor xavier_uniform(const Shape& s, float gain, Generator& gen) {
  auto [fi, fo] = fans(s);
  const float a = gain * std::sqrt(6.0f / static_cast<float>(fi + fo));
  return uniform(s, -a, a, gen);
}

Tensor xavier_normal(const Shape& s, float gain, Generator& gen) {
  auto [fi, fo] = fans(s);
  return normal(s, 0.0f, gain * std::sqrt(2.0f / static_cast<float>(fi + fo)), gen);
}

Tensor kaiming_uniform(const Shape& s, float a, Generator& gen) {
  const float gain = std::sqrt(2.0f / (1.0f + a * a));
  const float bound = gain * std::sqrt(3.0f / static_cast<float>(fans(s).first));
  return uniform(s, -bound, bound, gen);
}

Tensor kaiming_normal(const Shape& s, float a, Generator& gen) {
  const float gain = std::sqrt(2.0f / (1.0f + a * a));
  return normal(s, 0.0f, gain / std::sqrt(static_cast<float>(fans(s).first)), gen);
}

Tensor orthogonal(const Shape& s, float gain, Generator& gen) {
  if (s.size() < 2) throw std::invalid_argument("orthogonal: needs >= 2 dims, got " + shape_str(s));
  const std::size_t rows = s[0], cols = numel(s) / rows;
  // QR of the taller orientation gives orthonormal columns; transpose back if needed.
  const bool wide = rows < cols;
  xt::xtensor<double, 2> a = xt::empty<double>({wide ? cols : rows, wide ? rows : cols});
  for (auto& v : a) v = gen.normal();
  auto [q, r] = xt::linalg::qr(a);
  for (std::size_t j = 0; j < q.shape()[1]; ++j) {
    const double sign = r(j, j) < 0 ? -1.0 : 1.0;
    xt::view(q, xt::all(), j) *= sign;
  }
  Tensor out = xt::empty<float>({rows, cols});
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j)
      out(i, j) = static_cast<float>(gain * (wide ? q(j, i) : q(i, j)));
  out.reshape(s);
  return out;
}

}  // namespace unroll::nn::init
