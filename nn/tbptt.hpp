#pragma once
// Truncated backpropagation through time: the state is carried across tapes with
// detach(), so each chunk's backward stops at the chunk boundary.

#include <functional>
#include <vector>

#include "nn/recurrent.hpp"

namespace unroll::nn {

/// Loss of one chunk: its outputs ([k, B, D*H], or batch-first) and its first time step.
using ChunkLoss = std::function<Var(const Var& outputs, std::size_t start)>;

/// Trains `layer` over a long stream (time on axis 0, or axis 1 with batch_first) in chunks
/// of k steps: forward from the carried state, backward of loss_fn, update() (an optimizer
/// step), then detach the state and clear the current tape. Returns each chunk's loss.
std::vector<float> train_truncated_bptt(RecurrentLayer& layer, const Tensor& stream, std::size_t k,
                                        const ChunkLoss& loss_fn,
                                        const std::function<void()>& update);

}  // namespace unroll::nn
