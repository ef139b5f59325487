#include "tasks/task.hpp"

#include <cmath>

#include "ops/ops.hpp"

namespace unroll::tasks {

std::size_t Batch::batch_size() const {
  if (tokens.size() && tokens.dimension() == 2) return tokens.shape()[0];
  if (features.dimension() == 3) return features.shape()[0];
  return 0;
}

std::size_t Batch::steps() const {
  if (tokens.size() && tokens.dimension() == 2) return tokens.shape()[1];
  if (features.dimension() == 3) return features.shape()[1];
  return 0;
}

Var Task::loss(const Var& outputs, const Batch& b) const {
  if (spec().target == TargetKind::Classes) return ops::cross_entropy(outputs, b.class_targets);
  // Masked MSE: sum(mask * (y - t)^2) / (count * D).
  const std::size_t B = b.value_mask.shape()[0], T = b.value_mask.shape()[1];
  Tensor mask = b.value_mask;
  mask.reshape({B, T, std::size_t{1}});
  double count = 0;
  for (float m : b.value_mask) count += m;
  const double denom = std::max(1.0, count * static_cast<double>(spec().output_dim));
  Var diff = outputs - Var(b.value_targets);
  return ops::sum(diff * diff * Var(mask)) * static_cast<float>(1.0 / denom);
}

double Task::loss_terms(const Batch& b) const {
  double count = 0;
  if (spec().target == TargetKind::Classes) {
    for (std::int64_t y : b.class_targets) count += y != kNoTarget;
    return count;
  }
  for (float m : b.value_mask) count += m;
  return count * static_cast<double>(spec().output_dim);
}

std::map<std::string, double> Task::metrics(const Tensor& out, const Batch& b) const {
  std::map<std::string, double> m;
  if (spec().target == TargetKind::Classes) {
    const std::size_t B = b.class_targets.shape()[0], T = b.class_targets.shape()[1];
    const std::size_t C = out.shape()[2];
    double correct = 0, count = 0, ce = 0;
    for (std::size_t i = 0; i < B; ++i)
      for (std::size_t t = 0; t < T; ++t) {
        const std::int64_t y = b.class_targets(i, t);
        if (y == kNoTarget) continue;
        const float* row = &out(i, t, 0);
        std::size_t best = 0;
        float mx = row[0];
        for (std::size_t c = 1; c < C; ++c)
          if (row[c] > mx) mx = row[c], best = c;
        double z = 0;
        for (std::size_t c = 0; c < C; ++c) z += std::exp(static_cast<double>(row[c] - mx));
        ce += std::log(z) - (row[y] - mx);
        correct += best == static_cast<std::size_t>(y);
        count += 1;
      }
    m["accuracy"] = count ? correct / count : 0.0;
    m["cross_entropy"] = count ? ce / count : 0.0;
  } else {
    const std::size_t B = b.value_mask.shape()[0], T = b.value_mask.shape()[1];
    const std::size_t D = out.shape()[2];
    double se = 0, ae = 0, count = 0;
    for (std::size_t i = 0; i < B; ++i)
      for (std::size_t t = 0; t < T; ++t) {
        if (b.value_mask(i, t) == 0.0f) continue;
        for (std::size_t d = 0; d < D; ++d) {
          const double e = out(i, t, d) - b.value_targets(i, t, d);
          se += e * e;
          ae += std::abs(e);
          count += 1;
        }
      }
    m["mse"] = count ? se / count : 0.0;
    m["mae"] = count ? ae / count : 0.0;
  }
  return m;
}

}  // namespace unroll::tasks
