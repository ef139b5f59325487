#include "nn/transformer_model.hpp"

#include <cmath>
#include <string>

#include "ops/ops.hpp"

namespace unroll::nn {

TransformerSequenceModel::TransformerSequenceModel(const TransformerSequenceModelOptions& o,
                                                   Generator& gen)
    : options_(o), gen_(&gen) {
  if (o.input_size == 0 && o.vocab_size == 0)
    throw ShapeError(
        "TransformerSequenceModel: set input_size (float input) or vocab_size "
        "(token ids), or both");
  if (o.output_size == 0) throw ShapeError("TransformerSequenceModel: output_size must be > 0");
  if (o.input_size)
    input_proj =
        register_module("input_proj", std::make_shared<Linear>(o.input_size, o.d_model, true, gen));
  if (o.vocab_size)
    embedding =
        register_module("embedding", std::make_shared<Embedding>(o.vocab_size, o.d_model, -1, gen));
  if (o.positions == PositionKind::Sinusoidal)
    pos = register_module("pos",
                          std::make_shared<SinusoidalPositionalEncoding>(o.d_model, o.max_len));
  else if (o.positions == PositionKind::Learned)
    pos = register_module("pos",
                          std::make_shared<LearnedPositionalEmbedding>(o.max_len, o.d_model, gen));
  TransformerEncoderLayerOptions lo;
  lo.d_model = o.d_model;
  lo.nhead = o.nhead;
  lo.dim_feedforward = o.dim_feedforward;
  lo.dropout = o.dropout;
  lo.activation = o.activation;
  lo.batch_first = true;
  lo.norm_first = o.norm_first;
  encoder = register_module(
      "encoder", std::make_shared<TransformerEncoder>(lo, o.num_layers, o.norm_first, gen));
  head = register_module("head", std::make_shared<Linear>(o.d_model, o.output_size, true, gen));
  // Token embeddings are scaled by sqrt(d_model) in forward; drawn from N(0, 1/d_model) they
  // arrive at unit scale per component, the scale of the positions. Embedding's default
  // N(0, 1) would drown the positions (measured: copy stayed at chance).
  if (embedding)
    embedding->weight.mutable_value() = gen.normal_tensor(
        embedding->weight.shape(), 0.0f, 1.0f / std::sqrt(static_cast<float>(o.d_model)));
}

Var TransformerSequenceModel::embed_ids(const IndexTensor& ids) {
  if (!embedding) throw ShapeError("TransformerSequenceModel: token ids given but vocab_size is 0");
  return embedding->forward(ids) * std::sqrt(static_cast<float>(options_.d_model));
}

Var TransformerSequenceModel::run(const Var& h) {
  Var x = pos ? pos->forward(h, 0) : h;
  x = ops::dropout(x, options_.dropout, is_training(), *gen_);
  return head->forward(encoder->forward(x, {}, {}, options_.causal));
}

Var TransformerSequenceModel::run_step(const Var& h, KVCache& cache) {
  if (!options_.causal)
    throw std::logic_error("TransformerSequenceModel::step needs a causal model (options.causal)");
  Var x = pos ? pos->forward(h, cache.length()) : h;
  x = ops::dropout(x, options_.dropout, is_training(), *gen_);
  return head->forward(encoder->step(x, cache));
}

Var TransformerSequenceModel::forward(const Var& x) {
  if (!input_proj)
    throw ShapeError("TransformerSequenceModel: float input " + shape_str(x.shape()) +
                     " given but input_size is 0 (the model takes token ids)");
  if (x.ndim() != 3 || x.dim(2) != options_.input_size)
    throw ShapeError(
        "TransformerSequenceModel: input " + shape_str(x.shape()) +
        " must be [B, T, input_size] with input_size = " + std::to_string(options_.input_size));
  return run(input_proj->forward(x));
}

Var TransformerSequenceModel::forward(const IndexTensor& ids) {
  if (ids.dimension() != 2)
    throw ShapeError("TransformerSequenceModel: token ids " +
                     shape_str(Shape(ids.shape().begin(), ids.shape().end())) + " must be [B, T]");
  return run(embed_ids(ids));
}

Var TransformerSequenceModel::step(const Var& x_t, KVCache& cache) {
  if (!input_proj)
    throw ShapeError("TransformerSequenceModel::step: float input given but input_size is 0");
  if (x_t.ndim() != 2 || x_t.dim(1) != options_.input_size)
    throw ShapeError(
        "TransformerSequenceModel::step: input " + shape_str(x_t.shape()) +
        " must be [B, input_size] with input_size = " + std::to_string(options_.input_size));
  return run_step(input_proj->forward(x_t), cache);
}

Var TransformerSequenceModel::step(const IndexTensor& ids_t, KVCache& cache) {
  if (ids_t.dimension() != 1)
    throw ShapeError("TransformerSequenceModel::step: token ids " +
                     shape_str(Shape(ids_t.shape().begin(), ids_t.shape().end())) + " must be [B]");
  return run_step(embed_ids(ids_t), cache);
}

}  // namespace unroll::nn
