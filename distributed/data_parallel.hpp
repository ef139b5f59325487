#pragma once
// Data-parallel training over a Communicator: every rank holds the same model, trains on its
// own contiguous slice of each global batch, and the ranks sum their weighted gradients in
// ONE allreduce of one fused float buffer, so that every rank applies the same update.
//
// Exactness: a task's loss is a mean over L "terms" (targeted steps, masked values), so the
// global gradient is sum_r (l_r / L) * grad(loss_r), where l_r is rank r's number of terms.
// Each rank scales its gradient by l_r / L before the sum; the result equals the gradient of
// the one-process loss on the whole batch up to float rounding.

#include <string>
#include <vector>

#include "autograd/var.hpp"
#include "distributed/communicator.hpp"
#include "tasks/task.hpp"

namespace unroll::distributed {

/// Rows [begin, begin + count) of a global batch: the part one rank trains on.
struct BatchSlice {
  /// First row.
  std::size_t begin = 0;
  /// Number of rows.
  std::size_t count = 0;
};

/// Rank `rank` of `size` gets global_batch / size contiguous rows, and the first
/// global_batch % size ranks one row more (B = 7 on 2 ranks: rows 0-3 and 4-6).
/// std::invalid_argument if global_batch < size (a rank would have nothing to train on).
BatchSlice batch_slice(std::size_t global_batch, int rank, int size);

/// The rows `s` of every tensor of `batch` that has a batch axis (tokens, features, targets,
/// mask); std::invalid_argument if a tensor's first axis is shorter than s.begin + s.count.
tasks::Batch slice_batch(const tasks::Batch& batch, BatchSlice s);

/// The fused gradient buffer: every parameter's gradient times `scale`, concatenated in the
/// order of `params`, then one flag per parameter (1: it has a gradient, 0: backward never
/// reached it), then one free slot (the trainer puts its loss there). Size: sum(numel) + k + 1.
void flatten_gradients(const std::vector<Var>& params, float scale, std::vector<float>& buffer);

/// Writes `buffer` (layout of flatten_gradients, flags summed over ranks) back as the
/// gradients of `params`: a parameter whose flag is > 0 gets its slice as its gradient, one
/// whose flag is 0 none. std::invalid_argument if the buffer has the wrong size.
void unflatten_gradients(const std::vector<float>& buffer, const std::vector<Var>& params);

/// Every parameter's values concatenated in the order of `params`.
std::vector<float> flatten_values(const std::vector<Var>& params);

/// Writes `buffer` (layout of flatten_values) back into the parameters' values.
/// std::invalid_argument if the buffer has the wrong size.
void unflatten_values(const std::vector<float>& buffer, const std::vector<Var>& params);

/// The data-parallel side of one training run: the communicator and the model's parameters.
class DataParallel {
 public:
  /// Trains `params` (a model's parameters, in the same order on every rank) over `comm`.
  DataParallel(Communicator& comm, std::vector<Var> params);

  /// The group the run spans.
  Communicator& communicator() { return comm_; }
  /// Whether this rank prints and writes files (rank 0).
  bool is_root() const { return comm_.is_root(); }
  /// This rank's rows of a global batch of `global_batch` rows (batch_slice()).
  BatchSlice slice(std::size_t global_batch) const;

  /// Throws std::invalid_argument "ranks disagree on <what> ..." on every rank unless every
  /// rank passed the same `value` (guards against ranks started with different settings,
  /// which would otherwise exchange buffers of different sizes).
  void require_same(const std::string& what, double value);

  /// Overwrites every rank's parameter values with rank `root`'s.
  void broadcast_parameters(int root = 0);

  /// After backward() on this rank's slice: scales the gradients by
  /// local_terms / global_terms (0 if global_terms is 0), sums them over all ranks in one
  /// allreduce, and writes the sum back, so every rank holds the gradient of the whole
  /// batch's loss. Returns the whole batch's loss, sum_r loss_r * l_r / L, from the same
  /// allreduce.
  float reduce_gradients(double local_terms, double global_terms, float local_loss);

  /// Concatenates every rank's `local` (its slice's rows, [rows_r, ...]) in rank order into
  /// the tensor of the whole batch, [global_rows, ...], on every rank.
  Tensor gather_rows(const Tensor& local, std::size_t global_rows);

  /// Whether every rank's parameters equal rank 0's bit for bit (a check for tests; a
  /// collective).
  bool parameters_identical();

 private:
  Communicator& comm_;
  std::vector<Var> params_;
  std::vector<float> buffer_;  // the fused gradient buffer, reused every step
};

}  // namespace unroll::distributed
