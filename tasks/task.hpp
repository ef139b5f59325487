#pragma once
// Sequence tasks: seeded generators of batches, each with a loss and metrics, shared by
// every model in a comparison. A task is data only; models and training live elsewhere.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.hpp"
#include "autograd/var.hpp"

namespace unroll::tasks {

/// Ignored class target (PyTorch's ignore_index): steps with nothing to predict.
inline constexpr std::int64_t kNoTarget = -100;

/// One batch. Token tasks fill `tokens`, feature tasks fill `features`; classification
/// tasks fill `class_targets`, regression tasks `value_targets` and `value_mask`.
struct Batch {
  IndexTensor tokens;         ///< [B, T] input token ids (Tokens input)
  Tensor features;            ///< [B, T, F] float inputs (Features input)
  IndexTensor class_targets;  ///< [B, T] class per step, kNoTarget where none (Classes target)
  Tensor value_targets;       ///< [B, T, D] regression targets (Values target)
  Tensor value_mask;          ///< [B, T] 1 where a regression target counts, else 0
  /// B, the number of sequences.
  std::size_t batch_size() const;
  std::size_t steps() const;  ///< T, the tensor length (may exceed the task's length parameter)
};

enum class InputKind { Tokens, Features };
enum class TargetKind { Classes, Values };

/// What a model must accept and produce for a task.
struct TaskSpec {
  /// Token ids or float features.
  InputKind input = InputKind::Tokens;
  std::size_t input_dim = 0;  ///< vocabulary size (Tokens) or features per step (Features)
  /// Class per step or regression values.
  TargetKind target = TargetKind::Classes;
  std::size_t output_dim = 0;  ///< classes (Classes) or values per step (Values)
};

/// Options some tasks read (`--text`, `--csv`, `--column`).
struct TaskOptions {
  std::string text_path;   ///< charlm: a UTF-8/ASCII text file (empty: generated corpus)
  std::string csv_path;    ///< forecast: a CSV file (empty: generated series)
  std::string csv_column;  ///< forecast: the column to forecast
};

/// A sequence task: a seeded generator plus how to score a model's outputs.
class Task {
 public:
  virtual ~Task() = default;
  /// Short name used on the command line ("copy", "adding", ...).
  virtual std::string name() const = 0;
  /// One line for `unroll tasks`.
  virtual std::string description() const = 0;
  /// Input and output kinds and sizes a model must handle.
  virtual TaskSpec spec() const = 0;
  /// The metric reported in tables ("accuracy", "mse", "bpc").
  virtual std::string metric() const = 0;
  /// Whether a larger metric() is better (accuracy) or worse (mse, bpc).
  virtual bool higher_is_better() const = 0;
  /// The task's length parameter T when none is given.
  virtual std::size_t default_length() const = 0;
  /// A batch at length parameter `length` (the tensors may be longer, e.g. copy: T + 20).
  virtual Batch sample(Generator& gen, std::size_t batch, std::size_t length) const = 0;
  /// The metric of a memoryless or naive predictor at this length (for the report).
  virtual double baseline(std::size_t length) const = 0;
  /// Training loss: mean cross-entropy over targeted steps (Classes) or masked MSE (Values).
  virtual Var loss(const Var& outputs, const Batch& batch) const;
  /// The number of terms loss() averages over on `batch`: targeted steps (Classes) or
  /// masked values times output_dim (Values). Data-parallel training weights each rank's
  /// loss by its share of them, so a task that overrides loss() overrides this too.
  virtual double loss_terms(const Batch& batch) const;
  /// Every metric of outputs [B, T, output_dim] on this batch; includes metric().
  /// Default: accuracy over targeted steps and cross-entropy (Classes), mse and mae (Values).
  virtual std::map<std::string, double> metrics(const Tensor& outputs, const Batch& batch) const;
};

/// The task called `name` ("copy", "adding", ...); std::invalid_argument listing the known
/// names otherwise. Files named in `options` are read (and validated) here.
std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options = {});
/// Every task name, in the order `unroll tasks` lists them.
std::vector<std::string> task_names();

}  // namespace unroll::tasks
