// Parity builders for the attention modules: LayerNorm, MultiheadAttention and
// TransformerEncoderLayer, config keys as PyTorch's keyword arguments.
#include "nn/layer_norm.hpp"
#include "nn/transformer.hpp"
#include "parity/parity_runner.hpp"

namespace unroll::parity {
namespace {

// U8 masks arrive as int64; nonzero = masked out (PyTorch's bool-mask convention).
BoolTensor to_bool(const IndexTensor& m) {
  BoolTensor b = xt::empty<bool>(m.shape());
  for (std::size_t i = 0; i < m.size(); ++i) b.data()[i] = m.data()[i] != 0;
  return b;
}

nn::AttentionMask optional_mask(const IndexInputs& idx, const std::string& name) {
  auto it = idx.find(name);
  if (it == idx.end()) return {};
  return nn::AttentionMask(to_bool(it->second));
}

// The integer inputs of attention and encoder cases must not include a name the builder
// does not know: a silently ignored mask would pass for the wrong reason.
void check_index_names(const IndexInputs& idx, const std::set<std::string>& known) {
  for (const auto& [n, t] : idx)
    if (!known.count(n)) throw std::invalid_argument("unknown integer input '" + n + "'");
}

ParityCase build_layer_norm(const nlohmann::json& cfg) {
  const nlohmann::json& ns = cfg.at("normalized_shape");
  Shape shape;
  if (ns.is_array())
    for (const auto& d : ns) shape.push_back(d.get<std::size_t>());
  else
    shape.push_back(ns.get<std::size_t>());
  auto m = std::make_shared<nn::LayerNorm>(shape, config_or(cfg, "eps", 1e-5f),
                                           config_or(cfg, "elementwise_affine", true),
                                           config_or(cfg, "bias", true));
  ParityCase c;
  c.config_keys = {"normalized_shape", "eps", "elementwise_affine", "bias"};
  c.params = param_map(m->named_parameters());
  c.forward = [m](const FloatInputs& in, const IndexInputs&) {
    return Outputs{{"output", m->forward(input(in, "input"))}};
  };
  return c;
}

ParityCase build_mha(const nlohmann::json& cfg) {
  auto m = std::make_shared<nn::MultiheadAttention>(
      cfg.at("embed_dim").get<std::size_t>(), cfg.at("num_heads").get<std::size_t>(),
      config_or(cfg, "dropout", 0.0f), config_or(cfg, "bias", true),
      config_or(cfg, "batch_first", false));
  m->eval();
  ParityCase c;
  c.config_keys = {"embed_dim", "num_heads", "dropout", "bias", "batch_first"};
  c.params = param_map(m->named_parameters());
  c.forward = [m](const FloatInputs& in, const IndexInputs& idx) {
    check_index_names(idx, {"attn_mask", "key_padding_mask"});
    auto r = m->forward(input(in, "query"), input(in, "key"), input(in, "value"),
                        optional_mask(idx, "key_padding_mask"), true,
                        optional_mask(idx, "attn_mask"), true);
    return Outputs{{"output", r.output}, {"attn_weights", r.weights}};
  };
  return c;
}

ParityCase build_encoder_layer(const nlohmann::json& cfg) {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = cfg.at("d_model").get<std::size_t>();
  o.nhead = cfg.at("nhead").get<std::size_t>();
  o.dim_feedforward = config_or<std::size_t>(cfg, "dim_feedforward", 2048);
  o.dropout = config_or(cfg, "dropout", 0.1f);
  o.activation =
      nn::parse_feedforward_activation(config_or<std::string>(cfg, "activation", "relu"));
  o.layer_norm_eps = config_or(cfg, "layer_norm_eps", 1e-5f);
  o.batch_first = config_or(cfg, "batch_first", false);
  o.norm_first = config_or(cfg, "norm_first", false);
  o.bias = config_or(cfg, "bias", true);
  auto m = std::make_shared<nn::TransformerEncoderLayer>(o);
  m->eval();
  ParityCase c;
  c.config_keys = {"d_model",        "nhead",       "dim_feedforward", "dropout", "activation",
                   "layer_norm_eps", "batch_first", "norm_first",      "bias"};
  c.params = param_map(m->named_parameters());
  c.forward = [m](const FloatInputs& in, const IndexInputs& idx) {
    check_index_names(idx, {"src_mask", "src_key_padding_mask"});
    return Outputs{{"output", m->forward(input(in, "src"), optional_mask(idx, "src_mask"),
                                         optional_mask(idx, "src_key_padding_mask"))}};
  };
  return c;
}

const Registrar reg_layer_norm("LayerNorm", Builder(build_layer_norm));
const Registrar reg_mha("MultiheadAttention", Builder(build_mha));
const Registrar reg_encoder_layer("TransformerEncoderLayer", Builder(build_encoder_layer));

}  // namespace
}  // namespace unroll::parity
