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
  /// x -> y; what the module computes.
  virtual Var forward(const Var& x) = 0;
  /// Same as forward(x).
  Var operator()(const Var& x) { return forward(x); }
};

/// y = x W^T + b.  x [..., in_features] -> [..., out_features]. Parameters `weight`
/// [out, in] and `bias` [out], both U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.
class Linear : public UnaryModule {
 public:
  /// Linear map in_features -> out_features; bias = false omits the bias.
  Linear(std::size_t in_features, std::size_t out_features, bool bias = true,
         Generator& gen = default_generator());
  /// x [..., in_features] -> x W^T + b [..., out_features].
  Var forward(const Var& x) override;
  /// Input features (columns of weight).
  std::size_t in_features() const { return in_; }
  /// Output features (rows of weight).
  std::size_t out_features() const { return out_; }
  /// weight [out, in] and bias [out].
  Var weight, bias;  ///< bias is undefined when constructed with bias = false

 private:
  std::size_t in_, out_;
};

/// y[..., :] = weight[ids[...], :].  ids [...] -> [..., embedding_dim]. `weight`
/// [num_embeddings, dim] ~ N(0, 1) as PyTorch; the padding_idx row starts at zero and
/// gets no gradient.
class Embedding : public Module {
 public:
  /// Lookup table of num_embeddings rows of size embedding_dim; padding_idx -1 = none.
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::int64_t padding_idx = -1,
            Generator& gen = default_generator());
  /// ids [...] -> weight rows [..., embedding_dim].
  Var forward(const IndexTensor& ids);
  /// Same as forward(ids).
  Var operator()(const IndexTensor& ids) { return forward(ids); }
  /// Rows of the table (vocabulary size).
  std::size_t num_embeddings() const { return num_; }
  /// Size of each embedding vector.
  std::size_t embedding_dim() const { return dim_; }
  /// The table [num_embeddings, embedding_dim].
  Var weight;

 private:
  std::size_t num_, dim_;
  std::int64_t padding_idx_;
};

/// Inverted dropout with probability p in train mode, identity in eval mode.
class Dropout : public UnaryModule {
 public:
  /// Dropout with drop probability p, drawing masks from `gen`.
  explicit Dropout(float p = 0.5f, Generator& gen = default_generator());
  /// Train mode: zeroes each element with probability p and scales the rest by 1/(1-p); eval: x.
  Var forward(const Var& x) override;

 private:
  float p_;
  Generator* gen_;
};

/// An element-wise function as a module (Tanh, ReLU, ... for Sequential).
class Activation : public UnaryModule {
 public:
  /// Wraps the element-wise function f.
  explicit Activation(std::function<Var(const Var&)> f) : f_(std::move(f)) {}
  /// Returns f(x).
  Var forward(const Var& x) override { return f_(x); }

 private:
  std::function<Var(const Var&)> f_;
};
/// Element-wise tanh as a module.
std::shared_ptr<Activation> Tanh();
/// Element-wise sigmoid 1 / (1 + e^-x) as a module.
std::shared_ptr<Activation> Sigmoid();
/// Element-wise max(x, 0) as a module.
std::shared_ptr<Activation> ReLU();
/// Element-wise GELU (exact erf form) as a module.
std::shared_ptr<Activation> GELU();

/// Applies its children in order; children are named "0", "1", ... as in PyTorch.
class Sequential : public UnaryModule {
 public:
  /// An empty sequence (the identity).
  Sequential() = default;
  /// Chains `layers` in order.
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> layers);
  /// Appends a layer (named by its position).
  Sequential& add(std::shared_ptr<UnaryModule> layer);
  /// Applies every layer in order to x.
  Var forward(const Var& x) override;
  /// Number of layers.
  std::size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace unroll::nn
