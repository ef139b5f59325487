#include "nn/unroller.hpp"

#include <cmath>

#include "ops/ops.hpp"

namespace unroll::nn {

BoolTensor active_mask(const std::vector<std::size_t>& lengths, std::size_t t) {
  // from_shape, not xt::empty: converting xt::empty's fixed-rank result to BoolTensor copied
  // its uninitialised bytes as bools (undefined behaviour, reported by UBSan).
  BoolTensor m = BoolTensor::from_shape({lengths.size(), std::size_t{1}});
  for (std::size_t b = 0; b < lengths.size(); ++b) m(b, 0) = lengths[b] > t;
  return m;
}

UnrollResult unroll(RecurrentCell& cell, const Var& input, const State& initial,
                    const UnrollOptions& opt) {
  if (input.ndim() != 3)
    throw ShapeError(
        "unroll: input must be 3-D " +
        std::string(opt.batch_first ? "[batch, time, features]" : "[time, batch, features]") +
        ", got " + shape_str(input.value()));
  const int time_axis = opt.batch_first ? 1 : 0;
  const std::size_t T = input.dim(time_axis), B = input.dim(1 - time_axis);
  if (input.dim(2) != cell.input_size())
    throw ShapeError("unroll: input has " + std::to_string(input.dim(2)) +
                     " features per step, the cell expects " + std::to_string(cell.input_size()) +
                     " (input shape " + shape_str(input.value()) + ")");
  const bool masked = !opt.lengths.empty();
  if (masked) {
    if (opt.lengths.size() != B)
      throw ShapeError("unroll: got " + std::to_string(opt.lengths.size()) +
                       " lengths for a batch of " + std::to_string(B));
    for (std::size_t b = 0; b < B; ++b)
      if (opt.lengths[b] > T)
        throw ShapeError("unroll: length " + std::to_string(opt.lengths[b]) + " of sequence " +
                         std::to_string(b) + " exceeds the " + std::to_string(T) + " time steps");
  }

  State state = initial.empty() ? cell.initial_state(B) : initial;
  const State reference = cell.initial_state(B);
  if (state.size() != reference.size())
    throw ShapeError("unroll: initial state has " + std::to_string(state.size()) +
                     " tensors, the cell's state has " + std::to_string(reference.size()));
  for (std::size_t k = 0; k < state.size(); ++k)
    if (state[k].shape() != reference[k].shape())
      throw ShapeError("unroll: initial state tensor " + std::to_string(k) + " has shape " +
                       shape_str(state[k].value()) + ", expected " +
                       shape_str(reference[k].value()));

  // The input projection runs per step, not hoisted into one GEMM over all T steps: the
  // step's GEMM writes x_t W^T + b straight into the value the recurrence adds (in cache,
  // no [T, batch, P] product to fill, keep and copy out of), and its backward runs right
  // after the step's on a gradient still in cache (no [T, batch, P] gradient to zero and
  // add into). Measured faster for every LSTM and GRU of the suite (benchmarks/README.md).
  const RecurrentCell::InputProjection project = cell.input_projection();
  UnrollResult result;
  std::vector<Var> outputs(T);
  if (opt.track_state_grads) result.step_states.resize(T);
  for (std::size_t i = 0; i < T; ++i) {
    const std::size_t t = opt.reverse ? T - 1 - i : i;
    State next = cell.step(project(ops::select(input, time_axis, t)), state);
    if (next.size() != state.size())
      throw ShapeError("unroll: the cell's step returned " + std::to_string(next.size()) +
                       " state tensors, expected " + std::to_string(state.size()));
    Var out = cell.output(next);
    if (masked) {
      const BoolTensor active = active_mask(opt.lengths, t);
      if (!xt::all(active)) {
        // Finished sequences keep their state and emit zeros; where() routes no gradient
        // through the step that was computed for them.
        for (std::size_t k = 0; k < next.size(); ++k)
          next[k] = ops::where(active, next[k], state[k]);
        out = ops::where(active, out, ops::zeros(out.shape()));
      }
    }
    state = std::move(next);
    if (opt.track_state_grads) {
      state[0].retain_grad();
      result.step_states[t] = state[0];
    }
    outputs[t] = out;
  }
  result.outputs = T ? ops::stack(outputs, time_axis) : ops::zeros({0});
  result.final_state = std::move(state);
  return result;
}

std::vector<float> state_gradient_norms(const std::vector<Var>& step_states) {
  std::vector<float> norms;
  norms.reserve(step_states.size());
  for (const Var& h : step_states) {
    double s = 0;
    if (h.defined() && h.has_grad())
      for (float g : h.grad()) s += static_cast<double>(g) * g;
    norms.push_back(static_cast<float>(std::sqrt(s)));
  }
  return norms;
}

}  // namespace unroll::nn
