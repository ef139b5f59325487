#pragma once
// Transformer encoder: PyTorch's nn.TransformerEncoderLayer and nn.TransformerEncoder, with
// the same options, the same parameter names and the same arithmetic, plus a causal
// one-position step() over a key/value cache for generation.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/attention.hpp"
#include "nn/layer_norm.hpp"
#include "nn/layers.hpp"

namespace unroll::nn {

/// The feed-forward nonlinearity of an encoder layer (gelu is the exact erf form, PyTorch's
/// default).
enum class FeedForwardActivation { ReLU, GELU };
/// "relu" or "gelu" (PyTorch's strings); throws std::invalid_argument otherwise.
FeedForwardActivation parse_feedforward_activation(const std::string& name);

/// One key/value cache per encoder layer, for step-by-step causal decoding.
struct KVCache {
  /// One cache per encoder layer, in layer order.
  std::vector<KVCacheLayer> layers;
  /// Positions consumed so far (the position of the next step).
  std::size_t length() const { return layers.empty() ? 0 : layers[0].length(); }
  /// Empties the cache (next step is position 0).
  void clear() { layers.clear(); }
};

/// Options of TransformerEncoderLayer, PyTorch's keyword arguments and defaults.
struct TransformerEncoderLayerOptions {
  /// Model width (embedding size E).
  std::size_t d_model = 0;
  /// Number of attention heads (must divide d_model).
  std::size_t nhead = 0;
  /// Hidden width of the feed-forward block.
  std::size_t dim_feedforward = 2048;
  /// Dropout probability (attention weights, residual branches, feed-forward), train mode only.
  float dropout = 0.1f;
  /// Feed-forward nonlinearity.
  FeedForwardActivation activation = FeedForwardActivation::ReLU;
  /// Epsilon of the LayerNorms.
  float layer_norm_eps = 1e-5f;
  /// input/output [B, T, d_model] instead of [T, B, d_model].
  bool batch_first = false;
  /// Pre-norm (true) or post-norm (false) residual blocks.
  bool norm_first = false;
  /// false: no bias in the Linear layers, attention projections and LayerNorms (PyTorch 2.1).
  bool bias = true;
};

/// Post-norm (norm_first = false): x = norm1(x + SA(x)); x = norm2(x + FF(x)).
/// Pre-norm (norm_first = true):  x = x + SA(norm1(x)); x = x + FF(norm2(x)).
/// SA = dropout(self_attn(x, x, x)), FF = dropout(linear2(dropout(act(linear1(x))))).
/// src [T, B, d_model] ([B, T, d_model] with batch_first) -> same shape. Parameters
/// `self_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`.
class TransformerEncoderLayer : public Module {
 public:
  /// Same as the options constructor, with PyTorch's positional arguments.
  TransformerEncoderLayer(std::size_t d_model, std::size_t nhead,
                          std::size_t dim_feedforward = 2048, float dropout = 0.1f,
                          FeedForwardActivation activation = FeedForwardActivation::ReLU,
                          float layer_norm_eps = 1e-5f, bool batch_first = false,
                          bool norm_first = false, bool bias = true,
                          Generator& gen = default_generator());
  /// Layer with the given options.
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options,
                                   Generator& gen = default_generator());

  /// src_mask [T, T] or [B * nhead, T, T]; src_key_padding_mask [B, T]; is_causal adds the
  /// causal mask (position t attends to positions <= t).
  Var forward(const Var& src, const AttentionMask& src_mask = {},
              const AttentionMask& src_key_padding_mask = {}, bool is_causal = false);
  /// One position of a causal forward: x [B, d_model] -> [B, d_model], appending to `cache`.
  Var step(const Var& x, KVCacheLayer& cache);

  /// The options given at construction.
  const TransformerEncoderLayerOptions& options() const { return options_; }

  /// Multi-head self-attention (parameters `self_attn.*`).
  std::shared_ptr<MultiheadAttention> self_attn;
  /// Feed-forward d_model -> dim_feedforward (linear1) -> d_model (linear2).
  std::shared_ptr<Linear> linear1, linear2;  ///< linear2: dim_feedforward -> d_model
  /// LayerNorms of the attention and feed-forward blocks.
  std::shared_ptr<LayerNorm> norm1, norm2;  ///< norm2: of the feed-forward block

 private:
  Var feed_forward(const Var& x);
  Var drop(const Var& x);

  TransformerEncoderLayerOptions options_;
  Generator* gen_;
};

/// num_layers encoder layers applied in order, then the optional final `norm`.
/// src [T, B, d] ([B, T, d] with batch_first) -> same shape. Parameters `layers.<i>.*` and
/// `norm.*` (PyTorch's names).
class TransformerEncoder : public Module {
 public:
  /// Makes one encoder layer.
  using LayerFactory = std::function<std::shared_ptr<TransformerEncoderLayer>()>;
  /// Layers from a factory (called num_layers times: each layer gets its own initial values).
  TransformerEncoder(const LayerFactory& make_layer, std::size_t num_layers,
                     std::shared_ptr<LayerNorm> norm = nullptr);
  /// Layers from options; final_norm adds LayerNorm(d_model, layer_norm_eps) as `norm`.
  TransformerEncoder(const TransformerEncoderLayerOptions& layer, std::size_t num_layers,
                     bool final_norm = false, Generator& gen = default_generator());

  /// mask [T, T] or [B * nhead, T, T]; src_key_padding_mask [B, T]; is_causal as the layer's.
  Var forward(const Var& src, const AttentionMask& mask = {},
              const AttentionMask& src_key_padding_mask = {}, bool is_causal = false);
  /// One position of a causal forward: x [B, d] -> [B, d]; `cache` gets one entry per layer.
  Var step(const Var& x, KVCache& cache);

  /// The encoder layers, applied in order.
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  ///< nullptr without a final norm
};

}  // namespace unroll::nn
