#include "ops/dropout.hpp"

#include <string>

#include <xtensor/xoperation.hpp>

#include "autograd/tape.hpp"

namespace unroll::ops {

Var dropout(const Var& x, float p, bool training, Generator& gen) {
  if (!(p >= 0.0f && p <= 1.0f))  // also rejects NaN
    throw ShapeError("dropout: probability p = " + std::to_string(p) +
                     " is outside [0, 1] (input " + shape_str(x.value()) + ")");
  if (!training || p == 0.0f) return x;
  // The mask holds 0 or 1/(1-p), so forward and backward are one multiply each; p == 1
  // keeps nothing and must not divide by zero.
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Tensor mask = Tensor::from_shape(x.value().shape());
  float* m = mask.data();
  for (std::size_t i = 0, n = mask.size(); i < n; ++i) m[i] = gen.uniform() >= p ? scale : 0.0f;
  Tensor y = x.value() * mask;
  return autograd::record(
      "dropout", std::move(y), {x},
      [mask = std::move(mask)](const autograd::Node& n, autograd::GradSink& g) {
        g.add(0, n.grad * mask);
      },
      autograd::kReadsNothing);
}

}  // namespace unroll::ops
