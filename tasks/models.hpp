#pragma once
// The models a comparison trains: recurrent (RNN, LSTM, GRU) and Transformer, all with one
// interface: a task batch in, one output per step out ([B, T, output_dim]).

#include <memory>
#include <string>
#include <vector>

#include "nn/module.hpp"
#include "tasks/task.hpp"

namespace unroll::tasks {

/// Which model to build and its size.
struct ModelOptions {
  std::string kind = "lstm";  ///< "rnn", "lstm", "gru" or "transformer"
  std::size_t hidden = 64;    ///< hidden size (recurrent) or d_model (transformer)
  /// Stacked recurrent layers or transformer blocks.
  std::size_t layers = 1;
  std::size_t heads = 4;       ///< transformer only
  std::size_t max_len = 4096;  ///< transformer: longest sequence it can be evaluated on
};

/// A task model: embedding or raw features -> body -> Linear head, per step.
class SequenceModel : public nn::Module {
 public:
  /// Outputs [B, T, output_dim] for the batch's tokens or features.
  virtual Var forward(const Batch& batch) = 0;
  /// With gradient tracking on (recurrent models), forward() keeps h_t of every step of the
  /// first layer so that, after backward(), state_gradient_norms() gives ||dLoss/dh_t||.
  virtual void track_state_grads(bool on) = 0;
  /// ||dLoss/dh_t|| per step t from the last backward (needs track_state_grads(true)).
  virtual std::vector<float> state_gradient_norms() const = 0;
  /// The options the model was built with.
  const ModelOptions& options() const { return options_; }

 protected:
  /// Set by the concrete model.
  ModelOptions options_;
};

/// "rnn", "lstm", "gru", "transformer".
std::vector<std::string> model_names();
/// Builds a model for `spec`; std::invalid_argument naming a bad kind or size.
std::shared_ptr<SequenceModel> make_model(const ModelOptions& options, const TaskSpec& spec,
                                          Generator& gen);
/// The hidden size (d_model) for `kind` whose parameter count is closest to `budget`, so
/// that models of one comparison are of comparable size.
std::size_t matched_hidden(ModelOptions options, const TaskSpec& spec, std::size_t budget);

}  // namespace unroll::tasks
