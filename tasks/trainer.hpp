#pragma once
// One training run of one model on one task, and its evaluation: the loop a reader follows
// top to bottom — batch, forward (recorded on the tape), loss, backward (the reverse walk
// is BPTT), clip, optimizer step, tape cleared.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"
#include "tasks/models.hpp"

namespace unroll::distributed {
class Communicator;
}

namespace unroll::tasks {

/// Settings of one training run (train_and_evaluate()).
struct TrainConfig {
  /// Optimizer steps to train.
  std::size_t steps = 500;
  /// Sequences per batch.
  std::size_t batch = 32;
  std::size_t length = 0;  ///< task length parameter (0: the task's default)
  /// Adam learning rate.
  double lr = 3e-3;
  float clip = 1.0f;  ///< global gradient-norm clip (0: none)
  /// Seed of model initialisation and data.
  std::uint64_t seed = 1;
  std::size_t log_every = 25;             ///< learning-curve resolution (steps)
  std::vector<std::size_t> eval_lengths;  ///< empty: the training length only
  /// Fresh sequences evaluated per evaluation length.
  std::size_t eval_sequences = 512;
  /// Checkpoint written (atomically) every `save_every` steps and at the end; empty: none.
  std::string save_path;
  /// Checkpoint interval in steps (0: only at the end).
  /// Test hook (docs/reliability.md, "Nothing lost"): when the environment variable
  /// UNROLL_FAULT_KILL_AT_STEP=m is set, the process sends itself SIGKILL at the start of
  /// step m, after every checkpoint of the steps before m was written; a deterministic
  /// stand-in for a crash or `kill -9`, used by tests/reliability/kill_resume_test.sh.
  std::size_t save_every = 0;
  /// Checkpoint to continue from: model, optimizer, data generator, step and curve.
  std::string resume_path;
  /// Strings stored with every checkpoint (task and model settings, for `unroll eval`).
  std::map<std::string, std::string> checkpoint_extra;
  /// Data-parallel training over these ranks (distributed/data_parallel.hpp); null: this
  /// process alone. Every rank draws the whole batch of `batch` sequences, trains on its
  /// slice, and the averaged gradient gives the one-process result; only rank 0 writes
  /// checkpoints. Every rank must be given the same config.
  distributed::Communicator* communicator = nullptr;
};

/// Progress of a run, for live display.
struct Progress {
  /// Steps done so far.
  std::size_t step = 0, steps = 0;
  /// Smoothed training loss (exponential moving average).
  double loss = 0, tokens_per_second = 0, seconds = 0;
  /// \var seconds
  /// Seconds since training started.
  /// \var tokens_per_second
  /// Training throughput so far (batch * T tokens per second).
  /// \var steps
  /// Total steps of the run.
};

/// One point of a learning curve, logged every `log_every` steps.
struct CurvePoint {
  /// Optimizer step.
  std::size_t step;
  /// Smoothed training loss at that step.
  double loss;
  /// The task's metric on that step's batch.
  double metric;
};

/// Everything the report shows about one run.
struct RunResult {
  /// Task name.
  std::string task, model, metric;
  /// Whether a larger metric is better.
  bool higher_is_better = true;
  /// Training length parameter T.
  std::size_t seq_len = 0, parameters = 0, steps = 0, hidden = 0;
  /// Wall-clock training time in seconds.
  double train_seconds = 0, tokens_per_second = 0, final_loss = 0;
  /// \var tokens_per_second
  /// Training throughput (tokens per second).
  /// \var parameters
  /// Number of trainable parameters.
  /// \var steps
  /// Optimizer steps trained.
  /// \var hidden
  /// Hidden size (d_model for the transformer).
  /// \var final_loss
  /// Smoothed training loss at the last step.
  std::map<std::size_t, double> baseline;                     ///< by evaluation length
  std::map<std::size_t, std::map<std::string, double>> eval;  ///< metrics by length
  /// Learning curve.
  std::vector<CurvePoint> curve;
  /// \var metric
  /// Name of the metric reported (Task::metric()).
  /// \var model
  /// Model kind ("rnn", "lstm", "gru", "transformer").
};

/// Trains `model` on `task` with Adam and gradient clipping, then evaluates it at every
/// evaluation length on fresh sequences. Throws std::runtime_error if the loss or a gradient
/// becomes NaN/Inf, before the optimizer applies it; the message names the step, the last
/// checkpoint written (which stays intact and finite) and the remedy. Deterministic for
/// a given seed and thread count, also across a save and resume.
RunResult train_and_evaluate(const Task& task, SequenceModel& model, const TrainConfig& config,
                             const std::function<void(const Progress&)>& on_progress = {});

/// Metrics of `model` on `sequences` fresh sequences at `length` (no gradients, eval mode).
std::map<std::string, double> evaluate(const Task& task, SequenceModel& model, std::size_t length,
                                       std::size_t sequences, std::size_t batch, Generator& gen);

}  // namespace unroll::tasks
