#include "nn/transformer.hpp"

#include <stdexcept>

#include "ops/ops.hpp"

namespace unroll::nn {

namespace {

// Children named "0", "1", ...: PyTorch's nn.ModuleList naming ("layers.0.self_attn...").
class LayerList : public Module {
 public:
  void append(std::shared_ptr<Module> m) { register_module(std::to_string(size_++), std::move(m)); }

 private:
  std::size_t size_ = 0;
};

}  // namespace

FeedForwardActivation parse_feedforward_activation(const std::string& name) {
  if (name == "relu") return FeedForwardActivation::ReLU;
  if (name == "gelu") return FeedForwardActivation::GELU;
  throw std::invalid_argument("activation should be \"relu\" or \"gelu\", got \"" + name + "\"");
}

// ---------------------------------------------------------------- TransformerEncoderLayer

TransformerEncoderLayer::TransformerEncoderLayer(std::size_t d_model, std::size_t nhead,
                                                 std::size_t dim_feedforward, float dropout,
                                                 FeedForwardActivation activation,
                                                 float layer_norm_eps, bool batch_first,
                                                 bool norm_first, bool bias, Generator& gen)
    : TransformerEncoderLayer(
          TransformerEncoderLayerOptions{d_model, nhead, dim_feedforward, dropout, activation,
                                         layer_norm_eps, batch_first, norm_first, bias},
          gen) {}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& o,
                                                 Generator& gen)
    : options_(o), gen_(&gen) {
  if (o.dim_feedforward == 0)
    throw ShapeError("TransformerEncoderLayer: dim_feedforward must be > 0");
  if (!(o.dropout >= 0.0f && o.dropout <= 1.0f))
    throw ShapeError("TransformerEncoderLayer: dropout must be in [0, 1], got " +
                     std::to_string(o.dropout));
  // Registration order is PyTorch's, so named_parameters() lists the same sequence.
  self_attn =
      register_module("self_attn", std::make_shared<MultiheadAttention>(
                                       o.d_model, o.nhead, o.dropout, o.bias, o.batch_first, gen));
  linear1 = register_module("linear1",
                            std::make_shared<Linear>(o.d_model, o.dim_feedforward, o.bias, gen));
  linear2 = register_module("linear2",
                            std::make_shared<Linear>(o.dim_feedforward, o.d_model, o.bias, gen));
  norm1 = register_module(
      "norm1", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps, true, o.bias));
  norm2 = register_module(
      "norm2", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps, true, o.bias));
}

Var TransformerEncoderLayer::drop(const Var& x) {
  return ops::dropout(x, options_.dropout, is_training(), *gen_);
}

Var TransformerEncoderLayer::feed_forward(const Var& x) {
  Var h = linear1->forward(x);
  h = options_.activation == FeedForwardActivation::ReLU ? ops::relu(h) : ops::gelu(h);
  return drop(linear2->forward(drop(h)));
}

Var TransformerEncoderLayer::forward(const Var& src, const AttentionMask& src_mask,
                                     const AttentionMask& src_key_padding_mask, bool is_causal) {
  auto sa = [&](const Var& x) {
    return drop(
        self_attn->forward(x, x, x, src_key_padding_mask, false, src_mask, true, is_causal).output);
  };
  Var x = src;
  if (options_.norm_first) {
    x = x + sa(norm1->forward(x));
    return x + feed_forward(norm2->forward(x));
  }
  x = norm1->forward(x + sa(x));
  return norm2->forward(x + feed_forward(x));
}

Var TransformerEncoderLayer::step(const Var& x, KVCacheLayer& cache) {
  // Every sublayer but attention is position-wise, so one position needs only the cache.
  if (options_.norm_first) {
    Var h = x + drop(self_attn->step(norm1->forward(x), cache));
    return h + feed_forward(norm2->forward(h));
  }
  Var h = norm1->forward(x + drop(self_attn->step(x, cache)));
  return norm2->forward(h + feed_forward(h));
}

// ---------------------------------------------------------------- TransformerEncoder

TransformerEncoder::TransformerEncoder(const LayerFactory& make_layer, std::size_t num_layers,
                                       std::shared_ptr<LayerNorm> final_norm) {
  auto list = register_module("layers", std::make_shared<LayerList>());
  for (std::size_t i = 0; i < num_layers; ++i) {
    std::shared_ptr<TransformerEncoderLayer> l = make_layer();
    if (!l) throw std::invalid_argument("TransformerEncoder: the layer factory returned null");
    list->append(l);
    layers.push_back(std::move(l));
  }
  if (final_norm) norm = register_module("norm", std::move(final_norm));
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayerOptions& o,
                                       std::size_t num_layers, bool final_norm, Generator& gen)
    : TransformerEncoder(
          [&] { return std::make_shared<TransformerEncoderLayer>(o, gen); }, num_layers,
          final_norm ? std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps, true, o.bias)
                     : nullptr) {}

Var TransformerEncoder::forward(const Var& src, const AttentionMask& mask,
                                const AttentionMask& src_key_padding_mask, bool is_causal) {
  Var x = src;
  for (auto& l : layers) x = l->forward(x, mask, src_key_padding_mask, is_causal);
  return norm ? norm->forward(x) : x;
}

Var TransformerEncoder::step(const Var& x, KVCache& cache) {
  if (cache.layers.empty()) cache.layers.resize(layers.size());
  if (cache.layers.size() != layers.size())
    throw ShapeError("TransformerEncoder::step: cache has " + std::to_string(cache.layers.size()) +
                     " layers, the encoder " + std::to_string(layers.size()));
  Var h = x;
  for (std::size_t i = 0; i < layers.size(); ++i) h = layers[i]->step(h, cache.layers[i]);
  return norm ? norm->forward(h) : h;
}

}  // namespace unroll::nn
