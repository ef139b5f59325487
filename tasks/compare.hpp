#pragma once
// `unroll compare`: every model on every task with comparable parameter counts, trained
// and evaluated the same way.

#include <functional>
#include <string>
#include <vector>

#include "tasks/report.hpp"

namespace unroll::tasks {

/// Settings of `unroll compare`.
struct CompareConfig {
  /// Task names to run.
  std::vector<std::string> tasks{"adding", "copy"};
  /// Model kinds.
  std::vector<std::string> models{"rnn", "lstm", "gru", "transformer"};
  std::size_t seq_len = 0;                ///< 0: each task's default length
  std::vector<std::size_t> eval_lengths;  ///< empty: the training length and twice it
  /// Training steps per run.
  std::size_t steps = 1500;
  /// Sequences per batch.
  std::size_t batch = 32;
  std::size_t hidden = 64;  ///< the LSTM's width; others are matched to its size
  /// Layers of every model.
  std::size_t layers = 1;
  /// Attention heads (transformer only).
  std::size_t heads = 4;
  double lr = 0;  ///< 0: 3e-3 for recurrent models, 1e-3 for the transformer
  /// Seed of initialisation and data.
  std::uint64_t seed = 1;
  bool match_params = true;  ///< match every model's parameter count to the LSTM's
  /// Options passed to the tasks (`--text`, `--csv`, ...).
  TaskOptions task_options;
  /// Data-parallel training of every run over these ranks (TrainConfig::communicator).
  distributed::Communicator* communicator = nullptr;
};

/// Default learning rate for a model kind (when CompareConfig::lr is 0).
double default_lr(const std::string& kind);

/// Runs the comparison; `on_progress(label, progress)` reports each run's steps.
std::vector<RunResult> run_compare(
    const CompareConfig& config,
    const std::function<void(const std::string&, const Progress&)>& on_progress = {});

/// ||dLoss/dh_t|| for each recurrent model on one batch of `task` at length `length`, with
/// the loss at the task's targets (freshly initialised models: the picture at the start of
/// training, where vanishing gradients decide what can be learned).
std::vector<GradFlow> gradient_flow(const Task& task, const std::vector<std::string>& models,
                                    std::size_t length, std::size_t hidden, std::uint64_t seed);

}  // namespace unroll::tasks
