#include "nn/layers.hpp"

#include <cmath>

#include "nn/init.hpp"
#include "ops/ops.hpp"

namespace unroll::nn {

Linear::Linear(std::size_t in, std::size_t out, bool has_bias, Generator& gen)
    : in_(in), out_(out) {
  if (in == 0 || out == 0)
    throw ShapeError("Linear: in_features and out_features must be > 0, got " + std::to_string(in) +
                     " and " + std::to_string(out));
  // PyTorch: kaiming_uniform(a = sqrt(5)) on the weight is U(-1/sqrt(in), 1/sqrt(in)).
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  weight = register_parameter("weight", init::uniform({out, in}, -bound, bound, gen));
  if (has_bias) bias = register_parameter("bias", init::uniform({out}, -bound, bound, gen));
}

Var Linear::forward(const Var& x) {
  return ops::linear(x, weight, bias);
}

Embedding::Embedding(std::size_t num, std::size_t dim, std::int64_t padding_idx, Generator& gen)
    : num_(num), dim_(dim), padding_idx_(padding_idx) {
  if (padding_idx >= static_cast<std::int64_t>(num))
    throw ShapeError("Embedding: padding_idx " + std::to_string(padding_idx) +
                     " must be < num_embeddings " + std::to_string(num));
  Tensor w = init::normal({num, dim}, 0.0f, 1.0f, gen);
  if (padding_idx >= 0)
    for (std::size_t j = 0; j < dim; ++j) w(padding_idx, j) = 0.0f;
  weight = register_parameter("weight", std::move(w));
}

Var Embedding::forward(const IndexTensor& ids) {
  return ops::embedding(ids, weight, padding_idx_);
}

Dropout::Dropout(float p, Generator& gen) : p_(p), gen_(&gen) {
  if (!(p >= 0.0f && p <= 1.0f))
    throw ShapeError("Dropout: p must be in [0, 1], got " + std::to_string(p));
}

Var Dropout::forward(const Var& x) {
  return ops::dropout(x, p_, is_training(), *gen_);
}

std::shared_ptr<Activation> Tanh() {
  return std::make_shared<Activation>([](const Var& x) { return ops::tanh(x); });
}
std::shared_ptr<Activation> Sigmoid() {
  return std::make_shared<Activation>([](const Var& x) { return ops::sigmoid(x); });
}
std::shared_ptr<Activation> ReLU() {
  return std::make_shared<Activation>([](const Var& x) { return ops::relu(x); });
}
std::shared_ptr<Activation> GELU() {
  return std::make_shared<Activation>([](const Var& x) { return ops::gelu(x); });
}

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> layers) {
  for (auto& l : layers) add(std::move(l));
}

Sequential& Sequential::add(std::shared_ptr<UnaryModule> layer) {
  register_module(std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
  return *this;
}

Var Sequential::forward(const Var& x) {
  Var y = x;
  for (auto& l : layers_) y = l->forward(y);
  return y;
}

}  // namespace unroll::nn
