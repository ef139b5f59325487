#pragma once
// Positional information for attention models, which otherwise see a set, not a sequence.

#include <cstddef>

#include "autograd/random.hpp"
#include "nn/module.hpp"

namespace unroll::nn {

/// Adds a position-dependent vector to each step: x [B, T, d] -> x + P[offset:offset+T]
/// ([B, d] for a single step at position `offset`).
class PositionalEncoding : public Module {
 public:
  /// x [B, T, d] (or [B, d], one step) with its first step at position `offset`.
  /// Throws ShapeError when d differs or offset + T exceeds max_len.
  virtual Var forward(const Var& x, std::size_t offset = 0) = 0;
  /// Same as forward(x, offset).
  Var operator()(const Var& x, std::size_t offset = 0) { return forward(x, offset); }
  /// Longest sequence supported (offset + T <= max_len).
  std::size_t max_len() const { return max_len_; }
  /// Feature size d of the added vectors.
  std::size_t d_model() const { return d_model_; }

 protected:
  /// Records the feature size d_model and table length max_len.
  PositionalEncoding(std::size_t d_model, std::size_t max_len)
      : d_model_(d_model), max_len_(max_len) {}
  /// The rows [offset, offset + T) of the table, checked against x's shape.
  void check(const Var& x, std::size_t offset, const char* who) const;

 private:
  std::size_t d_model_, max_len_;
};

/// Fixed sinusoids (Vaswani et al.; PyTorch's tutorial): P[p, 2i] = sin(p / 10000^(2i/d)),
/// P[p, 2i+1] = cos(p / 10000^(2i/d)). No parameters.
class SinusoidalPositionalEncoding : public PositionalEncoding {
 public:
  /// Builds the table [max_len, d_model].
  explicit SinusoidalPositionalEncoding(std::size_t d_model, std::size_t max_len = 5000);
  /// x + P[offset:offset+T], shapes as PositionalEncoding::forward.
  Var forward(const Var& x, std::size_t offset = 0) override;
  /// The table [max_len, d_model].
  const Tensor& table() const { return table_; }

 private:
  Tensor table_;
};

/// Learned position embeddings: parameter `weight` [max_len, d_model] ~ N(0, 0.02^2) (GPT-2's
/// init: small next to the token embeddings), P[p] = weight[p].
class LearnedPositionalEmbedding : public PositionalEncoding {
 public:
  /// Creates `weight` [max_len, d_model] drawn from N(0, 0.02^2).
  LearnedPositionalEmbedding(std::size_t max_len, std::size_t d_model,
                             Generator& gen = default_generator());
  /// x + weight[offset:offset+T], shapes as PositionalEncoding::forward.
  Var forward(const Var& x, std::size_t offset = 0) override;
  /// The learned positions [max_len, d_model].
  Var weight;
};

}  // namespace unroll::nn
