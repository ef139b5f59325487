#pragma once
// Feed-forward building blocks: Linear, Embedding, Dropout, activations, Sequential.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/random.hpp"
#include "nn/module.hpp"

namespace unroll::nn {

/// A module with one tensor in and one tensor out: what Sequential chains.
class UnaryModule : public Module {
 public:
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }
};

/// y = x W^T + b.  x [..., in_features] -> [..., out_features]. Parameters `weight`
/// [out, in] and `bias` [out], both U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.
class Linear : public UnaryModule {
 public:
  Linear(std::size_t in_features, std::size_t out_features, bool bias = true,
         Generator& gen = default_generator());
  Var forward(const Var& x) override;
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  Var weight, bias;  ///< bias is undefined when constructed with bias = false

 private:
  std::size_t in_, out_;
};

/// y[..., :] = weight[ids[...], :].  ids [...] -> [..., embedding_dim]. `weight`
/// [num_embeddings, dim] ~ N(0, 1) as PyTorch; the padding_idx row starts at zero and
/// gets no gradient.
class Embedding : public Module {
 public:
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::int64_t padding_idx = -1,
            Generator& gen = default_generator());
  Var forward(const IndexTensor& ids);
  Var operator()(const IndexTensor& ids) { return forward(ids); }
  std::size_t num_embeddings() const { return num_; }
  std::size_t embedding_dim() const { return dim_; }
  Var weight;

 private:
  std::size_t num_, dim_;
  std::int64_t padding_idx_;
};

/// Inverted dropout with probability p in train mode, identity in eval mode.
class Dropout : public UnaryModule {
 public:
  explicit Dropout(float p = 0.5f, Generator& gen = default_generator());
  Var forward(const Var& x) override;

 private:
  float p_;
  Generator* gen_;
};

/// An element-wise function as a module (Tanh, ReLU, ... for Sequential).
class Activation : public UnaryModule {
 public:
  explicit Activation(std::function<Var(const Var&)> f) : f_(std::move(f)) {}
  Var forward(const Var& x) override { return f_(x); }

 private:
  std::function<Var(const Var&)> f_;
};
std::shared_ptr<Activation> Tanh();
std::shared_ptr<Activation> Sigmoid();
std::shared_ptr<Activation> ReLU();
std::shared_ptr<Activation> GELU();

/// Applies its children in order; children are named "0", "1", ... as in PyTorch.
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> layers);
  /// Appends a layer (named by its position).
  Sequential& add(std::shared_ptr<UnaryModule> layer);
  Var forward(const Var& x) override;
  std::size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace unroll::nn
