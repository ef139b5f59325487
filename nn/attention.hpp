#pragma once
// Attention composed from ops: batched GEMMs for the scores and the weighted sum (transposes
// are GEMM flags), the row softmax, masks as a constant additive bias. No backward code here:
// the tape differentiates the composition.

#include <cstddef>
#include <memory>
#include <optional>

#include "autograd/random.hpp"
#include "nn/layers.hpp"
#include "nn/module.hpp"
#include "ops/indexing.hpp"

namespace unroll::nn {

/// An attention mask in either of PyTorch's two forms: boolean (true = may not attend, i.e.
/// -inf added to the score) or additive float (added to the scores as is). Converts
/// implicitly from a BoolTensor or a Tensor; default-constructed means "no mask".
class AttentionMask {
 public:
  AttentionMask() = default;
  /// A boolean mask: true = may not attend (-inf added to the score).
  AttentionMask(
      BoolTensor mask);  // NOLINT(google-explicit-constructor): mask arguments read better
  /// An additive float mask, added to the scores as is.
  AttentionMask(Tensor additive);  // NOLINT(google-explicit-constructor)
  /// Whether a mask is set (false for the default "no mask").
  bool defined() const { return kind_ != Kind::None; }
  /// Whether the mask is boolean (else additive float).
  bool is_bool() const { return kind_ == Kind::Bool; }
  /// The mask's shape.
  Shape shape() const;
  /// The mask as an additive bias: 0 / -inf for a boolean mask, the values for a float one.
  Tensor additive() const;
  /// The same mask with its elements viewed in another shape (same count).
  AttentionMask reshaped(const Shape& s) const;

 private:
  enum class Kind { None, Bool, Float };
  Kind kind_ = Kind::None;
  BoolTensor bool_;
  Tensor float_;
};

/// Options of scaled_dot_product_attention. Shapes use B batch, H heads, T queries, S keys.
struct AttentionOptions {
  /// Broadcastable to [B, H, T, S] (numpy rules, right-aligned): [T, S], [B, 1, T, S], ...
  AttentionMask attn_mask;
  /// [B, S]: key s of batch entry b is ignored by every query where it is set.
  AttentionMask key_padding_mask;
  /// Query i may not attend to key j > i + (S - T): the queries are the last T of S positions
  /// (for T == S: j > i, PyTorch's is_causal; for one new query over a cache: no masking).
  bool causal = false;
  /// Dropout probability on the attention weights, applied only when `training`.
  float dropout = 0.0f;
  /// Whether dropout is active (train mode).
  bool training = false;
  Generator* generator = nullptr;  ///< for dropout; nullptr = default_generator()
  /// Score scale; default 1 / sqrt(d).
  std::optional<float> scale;
  /// Whether to return the weights (they cost one copy of [B, H, T, S]).
  bool need_weights = true;
};

/// Outputs of scaled_dot_product_attention.
struct AttentionResult {
  Var output;   ///< [B, H, T, dv]
  Var weights;  ///< [B, H, T, S] after dropout (as PyTorch); undefined unless need_weights
};

/// Attention(q, k, v) = softmax(q k^T * scale + mask) v, per batch entry and head.
/// q [B, H, T, d], k [B, H, S, d], v [B, H, S, dv] -> output [B, H, T, dv], weights
/// [B, H, T, S]. Masks combine by addition (boolean true = -inf). A query whose keys are all
/// masked (every bias -inf) gets all-zero weights and a zero output, with zero gradients,
/// instead of PyTorch's NaN. Throws ShapeError for mismatched shapes or masks.
AttentionResult scaled_dot_product_attention(const Var& q, const Var& k, const Var& v,
                                             const AttentionOptions& options = {});

/// Keys and values of one attention layer for the positions decoded so far, for
/// step-by-step causal decoding. keys [B, H, t, d], values [B, H, t, d] (undefined at t = 0).
struct KVCacheLayer {
  /// Cached keys [B, H, t, d] and values [B, H, t, dv]; undefined before the first step.
  Var keys, values;  ///< values [B, H, t, dv]
  /// Number of cached positions t (0 when empty).
  std::size_t length() const { return keys.defined() ? keys.dim(2) : 0; }
};

/// PyTorch's nn.MultiheadAttention (kdim = vdim = embed_dim, no bias_kv, no zero_attn).
/// Parameters: `in_proj_weight` [3E, E] (xavier_uniform; rows q | k | v), `in_proj_bias` [3E]
/// (zeros), `out_proj.weight` [E, E] (Linear's init), `out_proj.bias` [E] (zeros).
class MultiheadAttention : public Module {
 public:
  /// Result of forward(): the attention output and, if requested, the weights.
  struct Output {
    Var output;   ///< [T, B, E] ([B, T, E] with batch_first)
    Var weights;  ///< [B, T, S] averaged over heads, or [B, H, T, S]; undefined unless need_weights
  };

  /// E split into num_heads heads (E a multiple of num_heads); dropout on attention weights.
  MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, float dropout = 0.0f,
                     bool bias = true, bool batch_first = false,
                     Generator& gen = default_generator());

  /// query [T, B, E], key [S, B, E], value [S, B, E] ([B, T, E], [B, S, E] with batch_first);
  /// key_padding_mask [B, S]; attn_mask [T, S] or [B * H, T, S]; is_causal adds the causal
  /// mask (query t sees keys <= t). Attention dropout applies in train mode only. Passing the
  /// same Var as query, key and value projects once with the packed weight.
  Output forward(const Var& query, const Var& key, const Var& value,
                 const AttentionMask& key_padding_mask = {}, bool need_weights = true,
                 const AttentionMask& attn_mask = {}, bool average_attn_weights = true,
                 bool is_causal = false);

  /// Causal self-attention of one new position: x [B, E] -> [B, E]. Appends its key and value
  /// to `cache`; the query attends to every cached position and itself, which equals row t
  /// of a causal forward over the whole sequence.
  Var step(const Var& x, KVCacheLayer& cache);

  /// Model width E.
  std::size_t embed_dim() const { return embed_dim_; }
  /// Number of attention heads H.
  std::size_t num_heads() const { return num_heads_; }
  /// Whether inputs and outputs are [B, T, E] rather than [T, B, E].
  bool batch_first() const { return batch_first_; }

  /// Packed q|k|v projection weight [3E, E] and bias [3E].
  Var in_proj_weight, in_proj_bias;  ///< in_proj_bias undefined when bias = false
  /// Output projection E -> E.
  std::shared_ptr<Linear> out_proj;

 private:
  std::size_t embed_dim_, num_heads_, head_dim_;
  float dropout_;
  bool batch_first_;
  Generator* gen_;
};

}  // namespace unroll::nn
