// Parity builders for the nn/ modules: each maps a fixture's PyTorch config onto the
// module's constructor and its forward call onto PyTorch's return values.
#include "nn/layers.hpp"
#include "nn/recurrent.hpp"
#include "parity/parity_runner.hpp"

namespace unroll::parity {
namespace {

std::shared_ptr<nn::RecurrentCell> make_cell(const std::string& kind, const nlohmann::json& cfg) {
  const std::size_t in = cfg.at("input_size"), hidden = cfg.at("hidden_size");
  const bool bias = config_or(cfg, "bias", true);
  if (kind == "RNNCell")
    return std::make_shared<nn::RNNCell>(
        in, hidden, bias,
        nn::parse_nonlinearity(config_or<std::string>(cfg, "nonlinearity", "tanh")));
  if (kind == "LSTMCell") return std::make_shared<nn::LSTMCell>(in, hidden, bias);
  return std::make_shared<nn::GRUCell>(in, hidden, bias);
}

ParityCase build_cell(const std::string& kind, const nlohmann::json& cfg) {
  auto cell = make_cell(kind, cfg);
  ParityCase c;
  c.config_keys = {"input_size", "hidden_size", "bias"};
  if (kind == "RNNCell") c.config_keys.insert("nonlinearity");
  c.params = param_map(cell->named_parameters());
  const bool lstm = kind == "LSTMCell";
  c.forward = [cell, lstm](const FloatInputs& in, const IndexInputs&) {
    const Var& x = input(in, "input");
    nn::State s;
    if (has_input(in, "hx")) {
      s.push_back(input(in, "hx"));
      if (lstm) s.push_back(input(in, "cx"));
    } else {
      s = cell->initial_state(x.dim(0));
    }
    nn::State out = cell->forward(x, s);
    Outputs o{{"h", out[0]}};
    if (lstm) o["c"] = out[1];
    return o;
  };
  return c;
}

ParityCase build_layer(const std::string& kind, const nlohmann::json& cfg) {
  const std::size_t in = cfg.at("input_size"), hidden = cfg.at("hidden_size");
  nn::RNNOptions o;
  o.num_layers = config_or<std::size_t>(cfg, "num_layers", 1);
  o.bias = config_or(cfg, "bias", true);
  o.batch_first = config_or(cfg, "batch_first", false);
  o.dropout = config_or(cfg, "dropout", 0.0f);
  o.bidirectional = config_or(cfg, "bidirectional", false);
  std::shared_ptr<nn::RecurrentLayer> layer;
  ParityCase c;
  c.config_keys = {"input_size",  "hidden_size", "num_layers",   "bias",
                   "batch_first", "dropout",     "bidirectional"};
  if (kind == "RNN") {
    o.nonlinearity = nn::parse_nonlinearity(config_or<std::string>(cfg, "nonlinearity", "tanh"));
    c.config_keys.insert("nonlinearity");
    layer = std::make_shared<nn::RNN>(in, hidden, o);
  } else if (kind == "LSTM") {
    layer = std::make_shared<nn::LSTM>(in, hidden, o);
  } else {
    layer = std::make_shared<nn::GRU>(in, hidden, o);
  }
  layer->eval();  // dropout between layers is a training-time effect; fixtures compare eval
  c.params = param_map(layer->named_parameters());
  const bool lstm = kind == "LSTM";
  c.forward = [layer, lstm](const FloatInputs& in, const IndexInputs&) {
    nn::State init;
    if (has_input(in, "h0")) {
      init.push_back(input(in, "h0"));
      if (lstm) init.push_back(input(in, "c0"));
    }
    nn::RecurrentOutput r = layer->forward(input(in, "input"), init);
    Outputs o{{"output", r.output}, {"h_n", r.final_state[0]}};
    if (lstm) o["c_n"] = r.final_state[1];
    return o;
  };
  return c;
}

ParityCase build_linear(const nlohmann::json& cfg) {
  auto m = std::make_shared<nn::Linear>(cfg.at("in_features").get<std::size_t>(),
                                        cfg.at("out_features").get<std::size_t>(),
                                        config_or(cfg, "bias", true));
  ParityCase c;
  c.config_keys = {"in_features", "out_features", "bias"};
  c.params = param_map(m->named_parameters());
  c.forward = [m](const FloatInputs& in, const IndexInputs&) {
    return Outputs{{"output", m->forward(input(in, "input"))}};
  };
  return c;
}

ParityCase build_embedding(const nlohmann::json& cfg) {
  const std::int64_t pad = cfg.contains("padding_idx") && !cfg.at("padding_idx").is_null()
                               ? cfg.at("padding_idx").get<std::int64_t>()
                               : -1;
  auto m = std::make_shared<nn::Embedding>(cfg.at("num_embeddings").get<std::size_t>(),
                                           cfg.at("embedding_dim").get<std::size_t>(), pad);
  ParityCase c;
  c.config_keys = {"num_embeddings", "embedding_dim", "padding_idx"};
  c.params = param_map(m->named_parameters());
  c.forward = [m](const FloatInputs&, const IndexInputs& idx) {
    return Outputs{{"output", m->forward(index_input(idx, "input"))}};
  };
  return c;
}

const Registrar reg_linear("Linear", Builder(build_linear));
const Registrar reg_embedding("Embedding", Builder(build_embedding));
const Registrar reg_rnncell("RNNCell", Builder([](const nlohmann::json& c) {
                              return build_cell("RNNCell", c);
                            }));
const Registrar reg_lstmcell("LSTMCell", Builder([](const nlohmann::json& c) {
                               return build_cell("LSTMCell", c);
                             }));
const Registrar reg_grucell("GRUCell", Builder([](const nlohmann::json& c) {
                              return build_cell("GRUCell", c);
                            }));
const Registrar reg_rnn("RNN",
                        Builder([](const nlohmann::json& c) { return build_layer("RNN", c); }));
const Registrar reg_lstm("LSTM",
                         Builder([](const nlohmann::json& c) { return build_layer("LSTM", c); }));
const Registrar reg_gru("GRU",
                        Builder([](const nlohmann::json& c) { return build_layer("GRU", c); }));

}  // namespace
}  // namespace unroll::parity
