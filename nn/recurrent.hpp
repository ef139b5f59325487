#pragma once
// Stacked, optionally bidirectional recurrent layers over any cell, and the built-in
// RNN, LSTM and GRU with PyTorch's options, parameter names and return values.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.hpp"
#include "nn/cells.hpp"
#include "nn/unroller.hpp"

namespace unroll::nn {

/// Makes the cell for one layer and direction; `input_size` is the features it receives.
using CellFactory = std::function<std::shared_ptr<RecurrentCell>(std::size_t input_size,
                                                                 std::size_t layer, bool reverse)>;

/// Options of RecurrentLayer.
struct RecurrentOptions {
  /// Number of stacked layers L; layer l > 0 reads layer l-1's output.
  std::size_t num_layers = 1;
  /// Also run each layer in reverse (D = 2 directions, outputs concatenated).
  bool bidirectional = false;
  bool batch_first = false;  ///< input/output [batch, time, features]; states stay [L*D, batch, H]
  float dropout = 0.0f;      ///< on each layer's output except the last, in train mode only
  bool track_state_grads = false;  ///< keep dLoss/dh_t of every layer and direction
};

/// Result of RecurrentLayer::forward.
struct RecurrentOutput {
  Var output;         ///< [T, B, D*H] ([B, T, D*H] with batch_first); D = 2 if bidirectional
  State final_state;  ///< each tensor [num_layers * D, B, H] (h_n, and c_n for LSTM)
  /// With track_state_grads: step_states[layer * D + direction][t] = h_t.
  std::vector<std::vector<Var>> step_states;
};

/// num_layers x (1 or 2 directions) cells from `factory`, unrolled layer by layer.
/// Cell parameters are named "<name>_l<layer>" and "<name>_l<layer>_reverse" (PyTorch).
class RecurrentLayer : public Module {
 public:
  /// Builds num_layers x directions cells from `factory`; input_size is the first layer's features.
  RecurrentLayer(const CellFactory& factory, std::size_t input_size, RecurrentOptions options = {},
                 Generator& gen = default_generator());
  /// input [T, B, F] (or [B, T, F]); initial: empty (zeros) or one [L*D, B, H] tensor per state
  /// tensor of the cell; lengths: valid steps per sequence (empty: all).
  RecurrentOutput forward(const Var& input, const State& initial = {},
                          const std::vector<std::size_t>& lengths = {});
  /// The cell of `layer` and direction; throws std::out_of_range if there is none.
  RecurrentCell& cell(std::size_t layer, bool reverse = false);
  /// Features F of the input.
  std::size_t input_size() const { return input_size_; }
  /// Features H of each direction's output.
  std::size_t hidden_size() const { return hidden_; }
  /// The options given at construction.
  const RecurrentOptions& options() const { return opt_; }
  /// Keep dLoss/dh_t of every step in the next forward() calls (RecurrentOutput::step_states).
  void set_track_state_grads(bool on) { opt_.track_state_grads = on; }
  /// Number of directions D: 2 if bidirectional, else 1.
  std::size_t directions() const { return opt_.bidirectional ? 2 : 1; }

 private:
  std::vector<std::shared_ptr<RecurrentCell>> cells_;  // [layer * D + direction]
  std::size_t input_size_, hidden_;
  RecurrentOptions opt_;
  Generator* gen_;
};

/// Options shared by RNN, LSTM and GRU (PyTorch's constructor keywords).
struct RNNOptions {
  /// Number of stacked layers.
  std::size_t num_layers = 1;
  /// Whether the cells have bias_ih / bias_hh.
  bool bias = true;
  /// input/output [batch, time, features] instead of [time, batch, features].
  bool batch_first = false;
  /// Dropout on each layer's output except the last, in train mode only.
  float dropout = 0.0f;
  /// Also run each layer in reverse (D = 2).
  bool bidirectional = false;
  Nonlinearity nonlinearity = Nonlinearity::Tanh;  ///< RNN only
};

/// Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) per layer.
/// forward -> output [T, B, D*H], final_state {h_n [L*D, B, H]}.
class RNN : public RecurrentLayer {
 public:
  /// Stacked RNNCell layers of width hidden_size.
  RNN(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {},
      Generator& gen = default_generator());
};

/// LSTM (gates i|f|g|o). forward -> output [T, B, D*H], final_state {h_n, c_n}, each [L*D, B, H].
class LSTM : public RecurrentLayer {
 public:
  /// Stacked LSTMCell layers of width hidden_size.
  LSTM(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {},
       Generator& gen = default_generator());
};

/// GRU (gates r|z|n). forward -> output [T, B, D*H], final_state {h_n [L*D, B, H]}.
class GRU : public RecurrentLayer {
 public:
  /// Stacked GRUCell layers of width hidden_size.
  GRU(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {},
      Generator& gen = default_generator());
};

}  // namespace unroll::nn
