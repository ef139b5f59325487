#include "ops/creation.hpp"

#include <xtensor/xbuilder.hpp>

namespace unroll::ops {

Var zeros(const Shape& shape) {
  return Var(xt::zeros<float>(shape));
}
Var ones(const Shape& shape) {
  return Var(xt::ones<float>(shape));
}
Var full(const Shape& shape, float value) {
  Tensor t = xt::empty<float>(shape);
  t.fill(value);
  return Var(std::move(t));
}
Var constant(Tensor value) {
  return Var(std::move(value));
}
Var randn(const Shape& shape, Generator& gen) {
  return Var(gen.normal_tensor(shape));
}
Var rand(const Shape& shape, Generator& gen) {
  return Var(gen.uniform_tensor(shape));
}

}  // namespace unroll::ops
