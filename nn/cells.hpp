#pragma once
// The built-in cells, written only from ops (no backward code), with PyTorch's parameter
// names, gate order and initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)).

#include <string>

#include "autograd/random.hpp"
#include "nn/recurrent_cell.hpp"

namespace unroll::nn {

/// Activation of RNNCell / RNN: tanh or relu.
enum class Nonlinearity { Tanh, Relu };
/// "tanh" / "relu" -> Nonlinearity; anything else throws naming the value.
Nonlinearity parse_nonlinearity(const std::string& s);

/// What the three built-in cells share: PyTorch's weight_ih [G*H, in], weight_hh [G*H, H],
/// bias_ih, bias_hh [G*H] for G gates, all U(-1/sqrt(H), 1/sqrt(H)); weight_ih and bias_ih
/// form the declared input projection (RNN and LSTM fold bias_hh into it too: their
/// equations add it at every step, where it would cost a pass).
class BuiltinCell : public RecurrentCell {
 public:
  std::size_t input_size() const override { return in_; }
  std::size_t hidden_size() const override { return hidden_; }
  Var weight_ih;  ///< input-to-hidden weights [G*H, in]
  Var weight_hh;  ///< hidden-to-hidden weights [G*H, H]
  Var bias_ih;    ///< input bias [G*H]; undefined with bias = false
  Var bias_hh;    ///< hidden bias [G*H]; undefined with bias = false

 protected:
  /// Creates the parameters for `gates` gates; `name` is for messages. ShapeError on zero sizes.
  /// `fold_bias_hh`: the projection adds bias_hh too, and step() must not.
  BuiltinCell(const char* name, std::size_t gates, std::size_t input_size, std::size_t hidden_size,
              bool bias, bool fold_bias_hh, Generator& gen);
  /// `count` zero tensors [batch, hidden].
  State zero_state(std::size_t batch, std::size_t count) const;
  /// Throws ShapeError unless the projected input xp is [B, gates * hidden] and `s` holds
  /// `count` tensors [B, hidden] (a narrower xp would make chunk() return too few gates).
  void check_state(const Var& xp, std::size_t gates, const State& s, std::size_t count) const;
  /// Cell name for error messages ("RNNCell", ...).
  const char* name_;
  /// input_size and hidden_size.
  std::size_t in_, hidden_;  ///< hidden_size H
};

/// h' = act(W_ih x + b_ih + W_hh h + b_hh).  x [B, in], h [B, H].
class RNNCell : public BuiltinCell {
 public:
  /// Elman cell with the given nonlinearity (tanh or relu).
  RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
          Nonlinearity nonlinearity = Nonlinearity::Tanh, Generator& gen = default_generator());
  State initial_state(std::size_t batch) const override { return zero_state(batch, 1); }
  State step(const Var& xp, const State& s) override;

 private:
  Nonlinearity act_;
};

/// Gates [i|f|g|o] = W_ih x + b_ih + W_hh h + b_hh; c' = f*c + i*g; h' = o*tanh(c').
/// x [B, in], h, c [B, H]; weight_ih [4H, in], weight_hh [4H, H].
class LSTMCell : public BuiltinCell {
 public:
  /// LSTM cell with 4 gates (weight_ih [4H, in]).
  LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
           Generator& gen = default_generator());
  State initial_state(std::size_t batch) const override { return zero_state(batch, 2); }
  State step(const Var& xp, const State& s) override;
};

/// [r|z|n]: r = s(x_r + h_r), z = s(x_z + h_z), n = tanh(x_n + r*(W_hn h + b_hn)),
/// h' = (1-z)*n + z*h, with x_* = W_i* x + b_i*.  weight_ih [3H, in], weight_hh [3H, H].
class GRUCell : public BuiltinCell {
 public:
  /// GRU cell with 3 gates (weight_ih [3H, in]).
  GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
          Generator& gen = default_generator());
  State initial_state(std::size_t batch) const override { return zero_state(batch, 1); }
  State step(const Var& xp, const State& s) override;
};

}  // namespace unroll::nn
