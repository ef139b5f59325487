#include "ops/layer_norm.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/tape.hpp"
#include "ops/reductions.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;

namespace {

[[noreturn]] void ln_error(const Var& x, const Var& w, const Var& b, std::size_t k,
                           const std::string& why) {
  throw ShapeError("layer_norm: input " + shape_str(x.value()) +
                   (w.defined() ? ", weight " + shape_str(w.value()) : std::string()) +
                   (b.defined() ? ", bias " + shape_str(b.value()) : std::string()) +
                   ", normalized over the last " + std::to_string(k) + " axes: " + why);
}

}  // namespace

Var layer_norm(const Var& x, const Var& weight, const Var& bias, std::size_t k, float eps) {
  const Shape xs = x.shape();
  if (k == 0 || k > xs.size())
    ln_error(x, weight, bias, k,
             "normalized_dims must be in [1, " + std::to_string(xs.size()) + "]");
  const Shape norm_shape(xs.end() - static_cast<std::ptrdiff_t>(k), xs.end());
  if (weight.defined() && weight.shape() != norm_shape)
    ln_error(x, weight, bias, k, "weight must have shape " + shape_str(norm_shape));
  if (bias.defined() && bias.shape() != norm_shape)
    ln_error(x, weight, bias, k, "bias must have shape " + shape_str(norm_shape));
  if (!(eps >= 0.0f)) ln_error(x, weight, bias, k, "eps must be >= 0, got " + std::to_string(eps));
  const std::size_t D = numel(norm_shape);
  if (D == 0) ln_error(x, weight, bias, k, "the normalized axes hold no elements");
  const std::size_t rows = x.size() / D;

  // Per-row statistics, kept for backward: 2 floats per row instead of a saved xhat.
  Tensor mean = xt::empty<float>(Shape{rows});
  Tensor rstd = xt::empty<float>(Shape{rows});
  Tensor y = xt::empty<float>(xs);
  const float* X = x.value().data();
  const float* W = weight.defined() ? weight.value().data() : nullptr;
  const float* B = bias.defined() ? bias.value().data() : nullptr;
  float* Y = y.data();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = X + r * D;
    // Two passes with double sums: values near +-1e4 with a small spread would lose the
    // variance to cancellation in the one-pass E[x^2] - E[x]^2 form.
    const double s = detail::sum_of(D, [xr](std::size_t j) { return static_cast<double>(xr[j]); });
    const float mu = static_cast<float>(s / static_cast<double>(D));
    const double v = detail::sum_of(D, [xr, mu](std::size_t j) {
      const double d = static_cast<double>(xr[j]) - mu;
      return d * d;
    });
    const float rs =
        static_cast<float>(1.0 / std::sqrt(v / static_cast<double>(D) + static_cast<double>(eps)));
    mean(r) = mu;
    rstd(r) = rs;
    float* yr = Y + r * D;
    for (std::size_t j = 0; j < D; ++j) yr[j] = (xr[j] - mu) * rs;
    if (W)
      for (std::size_t j = 0; j < D; ++j) yr[j] *= W[j];
    if (B)
      for (std::size_t j = 0; j < D; ++j) yr[j] += B[j];
  }

  const int wi = weight.defined() ? 1 : -1;
  const int bi = bias.defined() ? (weight.defined() ? 2 : 1) : -1;
  std::vector<Var> inputs{x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  return autograd::record(
      "layer_norm", std::move(y), inputs,
      [mean = std::move(mean), rstd = std::move(rstd), rows, D, wi, bi](const Node& n,
                                                                        GradSink& g) {
        const float* X = n.inputs[0]->value.data();
        const float* G = n.grad.data();
        const float* W = wi >= 0 ? n.inputs[wi]->value.data() : nullptr;
        const bool need_x = g.needs(0);
        const bool need_w = wi >= 0 && g.needs(wi);
        const bool need_b = bi >= 0 && g.needs(bi);
        float beta_x = 0, beta_w = 0, beta_b = 0;
        float* dX = need_x ? g.buffer(0, beta_x).data() : nullptr;
        float* dW = need_w ? g.buffer(wi, beta_w).data() : nullptr;
        float* dB = need_b ? g.buffer(bi, beta_b).data() : nullptr;
        if (dW && beta_w == 0.0f) std::fill(dW, dW + D, 0.0f);
        if (dB && beta_b == 0.0f) std::fill(dB, dB + D, 0.0f);
        std::vector<float> xhat(D), gw(D);
        for (std::size_t r = 0; r < rows; ++r) {
          const float* xr = X + r * D;
          const float* gr = G + r * D;
          const float mu = mean(r), rs = rstd(r);
          for (std::size_t j = 0; j < D; ++j) xhat[j] = (xr[j] - mu) * rs;
          if (dW)
            for (std::size_t j = 0; j < D; ++j) dW[j] += gr[j] * xhat[j];
          if (dB)
            for (std::size_t j = 0; j < D; ++j) dB[j] += gr[j];
          if (!dX) continue;
          // dL/dxhat: the gradient times the weight, or the gradient itself without one.
          const float* gwr = gr;
          if (W) {
            for (std::size_t j = 0; j < D; ++j) gw[j] = gr[j] * W[j];
            gwr = gw.data();
          }
          const float* xh = xhat.data();
          const double sg =
              detail::sum_of(D, [gwr](std::size_t j) { return static_cast<double>(gwr[j]); });
          const double sgx = detail::sum_of(
              D, [gwr, xh](std::size_t j) { return static_cast<double>(gwr[j]) * xh[j]; });
          const float mg = static_cast<float>(sg / static_cast<double>(D));
          const float mgx = static_cast<float>(sgx / static_cast<double>(D));
          float* dr = dX + r * D;
          if (beta_x == 0.0f)
            for (std::size_t j = 0; j < D; ++j) dr[j] = rs * (gwr[j] - mg - xhat[j] * mgx);
          else
            for (std::size_t j = 0; j < D; ++j) dr[j] += rs * (gwr[j] - mg - xhat[j] * mgx);
        }
      },
      autograd::kReadsInputs);
}

}  // namespace unroll::ops
