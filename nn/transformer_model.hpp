#pragma once
// A complete attention sequence model with the recurrent models' interface: a sequence in,
// one output per step out. input -> [embedding or input projection] -> + positions ->
// dropout -> TransformerEncoder -> Linear head.

#include <memory>

#include "nn/positional.hpp"
#include "nn/transformer.hpp"

namespace unroll::nn {

/// How TransformerSequenceModel adds positions.
enum class PositionKind { None, Sinusoidal, Learned };

/// Options of TransformerSequenceModel.
struct TransformerSequenceModelOptions {
  std::size_t input_size = 0;   ///< features per step of float input (0: no input projection)
  std::size_t vocab_size = 0;   ///< token ids in [0, vocab_size) (0: no embedding)
  std::size_t output_size = 0;  ///< features of each per-step output
  /// Model width.
  std::size_t d_model = 64;
  /// Number of attention heads (must divide d_model).
  std::size_t nhead = 4;
  /// Number of encoder layers.
  std::size_t num_layers = 2;
  /// Hidden width of each feed-forward block.
  std::size_t dim_feedforward = 256;
  /// Dropout probability, train mode only.
  float dropout = 0.1f;
  /// Feed-forward nonlinearity.
  FeedForwardActivation activation = FeedForwardActivation::GELU;
  /// Pre-norm layers (stable without warm-up) followed by a final LayerNorm `encoder.norm`.
  bool norm_first = true;
  /// Causal self-attention: output t depends on inputs 0..t only (needed for step()).
  bool causal = true;
  /// How positions are added.
  PositionKind positions = PositionKind::Sinusoidal;
  std::size_t max_len = 1024;  ///< longest sequence (positions table size)
};

/// Transformer encoder as a per-step sequence model. Parameters: `input_proj.*` (float input,
/// Linear input_size -> d_model) and/or `embedding.weight` (token ids, N(0, 1/d_model), scaled by
/// sqrt(d_model) as in PyTorch's tutorial), `pos.weight` (learned positions),
/// `encoder.layers.<i>.*`, `encoder.norm.*` (pre-norm), `head.*` (Linear d_model -> output_size).
class TransformerSequenceModel : public Module {
 public:
  /// Builds the model from `options`.
  explicit TransformerSequenceModel(const TransformerSequenceModelOptions& options,
                                    Generator& gen = default_generator());

  /// x [B, T, input_size] float features -> [B, T, output_size].
  Var forward(const Var& x);
  /// ids [B, T] token ids -> [B, T, output_size].
  Var forward(const IndexTensor& ids);

  /// One step of the causal model at position cache.length(): x_t [B, input_size] ->
  /// [B, output_size]; equals step t of forward() over the sequence so far. Needs causal.
  Var step(const Var& x_t, KVCache& cache);
  /// The same for token ids [B].
  Var step(const IndexTensor& ids_t, KVCache& cache);

  /// The options given at construction.
  const TransformerSequenceModelOptions& options() const { return options_; }

  std::shared_ptr<Linear> input_proj;       ///< nullptr without input_size
  std::shared_ptr<Embedding> embedding;     ///< nullptr without vocab_size
  std::shared_ptr<PositionalEncoding> pos;  ///< nullptr with PositionKind::None
  /// The encoder stack.
  std::shared_ptr<TransformerEncoder> encoder;
  /// Output head d_model -> output_size.
  std::shared_ptr<Linear> head;

 private:
  Var embed_ids(const IndexTensor& ids);
  /// h [B, T, d] (or [B, d] at `offset`) -> head outputs, through positions and the encoder.
  Var run(const Var& h);
  Var run_step(const Var& h, KVCache& cache);

  TransformerSequenceModelOptions options_;
  Generator* gen_;
};

}  // namespace unroll::nn
