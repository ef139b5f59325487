#pragma once
// The unroller: runs any RecurrentCell over a sequence. It calls the cell T times; the
// tape records T steps; backward() over the tape is backpropagation through time.

#include <vector>

#include "nn/recurrent_cell.hpp"
#include "ops/indexing.hpp"

namespace unroll::nn {

/// Options of unroll().
struct UnrollOptions {
  bool batch_first =
      false;  ///< input/output [batch, time, features] instead of [time, batch, features]
  bool reverse = false;  ///< process t = T-1 .. 0 (the backward half of a bidirectional layer)
  /// Valid length of each sequence (empty: all T). Steps t >= length leave the state
  /// unchanged, emit zeros and receive no gradient.
  std::vector<std::size_t> lengths;
  /// Keep dLoss/dh_t for every step (see state_gradient_norms).
  bool track_state_grads = false;
};

/// Result of unroll().
struct UnrollResult {
  Var outputs;        ///< [T, B, H] ([B, T, H] with batch_first); output[t] belongs to input t
  State final_state;  ///< state after the last valid step of each sequence
  std::vector<Var> step_states;  ///< with track_state_grads: h_t (state[0]) for t = 0 .. T-1
};

/// Unroll `cell` over input [T, B, F] (or [B, T, F]) from `initial` (zeros when empty).
/// The cell's input projection, if declared, is applied to all steps in one GEMM first.
UnrollResult unroll(RecurrentCell& cell, const Var& input, const State& initial = {},
                    const UnrollOptions& options = {});

/// After backward(): ||dLoss/dh_t||_2 for each tracked step t (0 for steps with no gradient).
std::vector<float> state_gradient_norms(const std::vector<Var>& step_states);

/// Boolean [B, 1] mask of the sequences still running at step t (lengths[b] > t).
BoolTensor active_mask(const std::vector<std::size_t>& lengths, std::size_t t);

}  // namespace unroll::nn
