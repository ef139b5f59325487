#include "nn/cells.hpp"

#include <cmath>

#include "nn/init.hpp"
#include "ops/ops.hpp"

namespace unroll::nn {

Nonlinearity parse_nonlinearity(const std::string& s) {
  if (s == "tanh") return Nonlinearity::Tanh;
  if (s == "relu") return Nonlinearity::Relu;
  throw std::invalid_argument("nonlinearity: expected 'tanh' or 'relu', got '" + s + "'");
}

BuiltinCell::BuiltinCell(const char* name, std::size_t gates, std::size_t in, std::size_t hidden,
                         bool bias, bool fold_bias_hh, Generator& gen)
    : name_(name), in_(in), hidden_(hidden) {
  if (in == 0 || hidden == 0)
    throw ShapeError(std::string(name) + ": input_size and hidden_size must be > 0, got " +
                     std::to_string(in) + " and " + std::to_string(hidden));
  const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
  weight_ih = register_parameter("weight_ih", init::uniform({gates * hidden, in}, -k, k, gen));
  weight_hh = register_parameter("weight_hh", init::uniform({gates * hidden, hidden}, -k, k, gen));
  if (bias) {
    bias_ih = register_parameter("bias_ih", init::uniform({gates * hidden}, -k, k, gen));
    bias_hh = register_parameter("bias_hh", init::uniform({gates * hidden}, -k, k, gen));
  }
  declare_input_projection(weight_ih, bias_ih, fold_bias_hh ? bias_hh : Var());
}

State BuiltinCell::zero_state(std::size_t batch, std::size_t count) const {
  State s;
  for (std::size_t i = 0; i < count; ++i) s.push_back(ops::zeros({batch, hidden_}));
  return s;
}

void BuiltinCell::check_state(const Var& xp, std::size_t gates, const State& s,
                              std::size_t count) const {
  if (xp.ndim() != 2 || xp.dim(1) != gates * hidden_)
    throw ShapeError(std::string(name_) + ": projected input x W_ih^T + b has shape " +
                     shape_str(xp.value()) + ", expected [batch, " +
                     std::to_string(gates * hidden_) + "] (raw input x: [batch, " +
                     std::to_string(in_) + "])");
  if (s.size() != count)
    throw ShapeError(std::string(name_) + ": expected a state of " + std::to_string(count) +
                     " tensors, got " + std::to_string(s.size()));
  for (const Var& v : s)
    if (v.ndim() != 2 || v.dim(0) != xp.dim(0) || v.dim(1) != hidden_)
      throw ShapeError(std::string(name_) + ": state tensor has shape " + shape_str(v.value()) +
                       ", expected [" + std::to_string(xp.dim(0)) + ", " + std::to_string(hidden_) +
                       "] ([batch, hidden])");
}

RNNCell::RNNCell(std::size_t in, std::size_t hidden, bool bias, Nonlinearity act, Generator& gen)
    : BuiltinCell("RNNCell", 1, in, hidden, bias, true, gen), act_(act) {}

State RNNCell::step(const Var& xp, const State& s) {
  check_state(xp, 1, s, 1);
  Var pre = ops::add_linear(xp, s[0], weight_hh);  // xp holds b_ih + b_hh
  return {act_ == Nonlinearity::Tanh ? ops::tanh(pre) : ops::relu(pre)};
}

LSTMCell::LSTMCell(std::size_t in, std::size_t hidden, bool bias, Generator& gen)
    : BuiltinCell("LSTMCell", 4, in, hidden, bias, true, gen) {}

State LSTMCell::step(const Var& xp, const State& s) {
  check_state(xp, 4, s, 2);
  // xp = x W_ih^T + b_ih + b_hh (the projection holds both biases).
  const std::vector<Var> g = ops::chunk(ops::add_linear(xp, s[0], weight_hh), 4, 1);
  Var c = ops::sigmoid(g[1]) * s[1] + ops::sigmoid(g[0]) * ops::tanh(g[2]);
  Var h = ops::sigmoid(g[3]) * ops::tanh(c);
  return {h, c};
}

GRUCell::GRUCell(std::size_t in, std::size_t hidden, bool bias, Generator& gen)
    : BuiltinCell("GRUCell", 3, in, hidden, bias, false, gen) {}

State GRUCell::step(const Var& xp, const State& s) {
  check_state(xp, 3, s, 1);
  const Var& h = s[0];
  const std::vector<Var> x = ops::chunk(xp, 3, 1);
  const std::vector<Var> hh = ops::chunk(ops::linear(h, weight_hh, bias_hh), 3, 1);
  Var r = ops::sigmoid(x[0] + hh[0]);
  Var z = ops::sigmoid(x[1] + hh[1]);
  Var n = ops::tanh(x[2] + r * hh[2]);
  return {n + z * (h - n)};  // (1 - z) * n + z * h
}

}  // namespace unroll::nn
