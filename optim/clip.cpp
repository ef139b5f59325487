#include "optim/clip.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace unroll::optim {

namespace {
/// The gradient buffer of `p` to modify in place (the node's, since Var::grad() is const).
Tensor& grad_of(const Var& p) {
  return p.node()->grad;
}
}  // namespace

float clip_grad_norm(const std::vector<Var>& params, float max_norm, float norm_type,
                     bool error_if_nonfinite) {
  if (!(norm_type > 0))
    throw std::invalid_argument("clip_grad_norm: norm_type = " + std::to_string(norm_type) +
                                ", expected > 0 (or INFINITY)");
  if (!(max_norm >= 0))
    throw std::invalid_argument("clip_grad_norm: max_norm = " + std::to_string(max_norm) +
                                ", expected >= 0");
  const bool inf = std::isinf(norm_type);
  const double q = norm_type;
  // Accumulated in double: summing many float squares in float loses digits the clip
  // factor depends on.
  double acc = 0;
  bool any = false;
  for (const Var& p : params) {
    if (!p.has_grad()) continue;
    any = true;
    const Tensor& g = grad_of(p);
    const float* d = g.data();
    const std::size_t n = g.size();
    if (inf) {
      for (std::size_t i = 0; i < n; ++i) acc = std::max(acc, double(std::abs(d[i])));
      for (std::size_t i = 0; i < n; ++i)
        if (std::isnan(d[i])) acc = NAN;
    } else if (q == 2.0) {
      for (std::size_t i = 0; i < n; ++i) acc += double(d[i]) * d[i];
    } else if (q == 1.0) {
      for (std::size_t i = 0; i < n; ++i) acc += std::abs(double(d[i]));
    } else {
      for (std::size_t i = 0; i < n; ++i) acc += std::pow(std::abs(double(d[i])), q);
    }
  }
  if (!any) return 0.0f;
  const double total_d = inf        ? acc
                         : q == 2.0 ? std::sqrt(acc)
                         : q == 1.0 ? acc
                                    : std::pow(acc, 1.0 / q);
  const float total = float(total_d);
  if (error_if_nonfinite && !std::isfinite(total))
    throw std::runtime_error("clip_grad_norm: the total norm of order " +
                             std::to_string(norm_type) + " of the gradients is " +
                             std::to_string(total) +
                             " (non-finite), so it cannot be clipped; pass "
                             "error_if_nonfinite = false to scale by it anyway");
  const float coef = std::min(max_norm / (total + 1e-6f), 1.0f);
  if (coef == 1.0f) return total;
  for (const Var& p : params) {
    if (!p.has_grad()) continue;
    Tensor& g = grad_of(p);
    float* d = g.data();
    const std::size_t n = g.size();
    for (std::size_t i = 0; i < n; ++i) d[i] *= coef;
  }
  return total;
}

void clip_grad_value(const std::vector<Var>& params, float clip_value) {
  if (!(clip_value >= 0))
    throw std::invalid_argument("clip_grad_value: clip_value = " + std::to_string(clip_value) +
                                ", expected >= 0");
  for (const Var& p : params) {
    if (!p.has_grad()) continue;
    Tensor& g = grad_of(p);
    float* d = g.data();
    const std::size_t n = g.size();
    for (std::size_t i = 0; i < n; ++i) d[i] = std::clamp(d[i], -clip_value, clip_value);
  }
}

}  // namespace unroll::optim
