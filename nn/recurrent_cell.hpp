#pragma once
// The recurrent-cell interface. Built-in and user cells implement the same two methods
// and are unrolled by the same code, so they train at the same speed.

#include <vector>

#include "nn/module.hpp"

namespace unroll::nn {

/// The recurrent state: one or more [batch, hidden] tensors ({h} or {h, c}).
using State = std::vector<Var>;

/// One time step of a recurrent network: state_t = step(x_t, state_{t-1}).
/// A cell that declares an input projection (x -> x W^T + b) gets it applied by the
/// unroller, one GEMM per step with the bias added inside it; step() then receives the
/// projected input, and a step_bias folded into that bias costs no pass of its own.
class RecurrentCell : public Module {
 public:
  /// Features of the raw input x_t.
  virtual std::size_t input_size() const = 0;
  /// Features of the per-step output.
  virtual std::size_t hidden_size() const = 0;
  /// The zero state for `batch` sequences.
  virtual State initial_state(std::size_t batch) const = 0;
  /// One step. x_t: [batch, input_size], or [batch, P] after a declared projection.
  virtual State step(const Var& x_t, const State& state) = 0;
  /// The per-step output of a state (default: its first tensor, h).
  virtual Var output(const State& state) const { return state.at(0); }

  /// Whether the cell declared an input projection (step() then gets projected input).
  bool has_input_projection() const { return proj_weight_.defined(); }
  /// x [..., input_size] -> [..., P] through the declared projection (identity if none).
  Var project_input(const Var& x) const;
  /// The declared projection as the unroller applies it, once per step: its weight and its
  /// one bias (b + step_bias, summed once per pass, not once per step).
  struct InputProjection {
    Var weight, bias;  ///< weight undefined when the cell declared no projection
    /// x [..., input_size] -> x W^T + b [..., P] (x itself when there is no projection).
    Var operator()(const Var& x) const;
  };
  /// This cell's projection: {W, b + step_bias}, or {} (identity) when it declared none.
  InputProjection input_projection() const;
  /// One step from a raw input: projection (if any), then step(). A PyTorch cell's forward.
  State forward(const Var& x, const State& state);

 protected:
  /// Declares weight [P, input_size] (and bias [P]) as this cell's input projection.
  /// `step_bias` [P], when given, is added too: a bias the equations add at every step
  /// (LSTM's b_hh) folded into the one projection, so no step spends a pass adding it.
  void declare_input_projection(const Var& weight, const Var& bias = Var(),
                                const Var& step_bias = Var());

 private:
  Var proj_weight_, proj_bias_, proj_step_bias_;
};

/// A copy of the state with no history: carries it across tapes (truncated BPTT).
State detach(const State& s);

}  // namespace unroll::nn
