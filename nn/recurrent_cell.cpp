#include "nn/recurrent_cell.hpp"

#include "ops/elementwise.hpp"
#include "ops/linalg.hpp"

namespace unroll::nn {

RecurrentCell::InputProjection RecurrentCell::input_projection() const {
  if (!has_input_projection()) return {};
  Var bias = proj_bias_;
  if (proj_step_bias_.defined()) bias = bias.defined() ? bias + proj_step_bias_ : proj_step_bias_;
  return {proj_weight_, bias};
}

Var RecurrentCell::InputProjection::operator()(const Var& x) const {
  return weight.defined() ? ops::linear(x, weight, bias) : x;
}

Var RecurrentCell::project_input(const Var& x) const {
  return input_projection()(x);
}

State RecurrentCell::forward(const Var& x, const State& state) {
  // The projection accepts any leading axes; a cell step takes exactly [batch, input_size].
  if (x.ndim() != 2 || x.dim(1) != input_size())
    throw ShapeError("RecurrentCell::forward: input has shape " + shape_str(x.value()) +
                     ", expected [batch, " + std::to_string(input_size()) + "]");
  return step(project_input(x), state);
}

void RecurrentCell::declare_input_projection(const Var& weight, const Var& bias,
                                             const Var& step_bias) {
  proj_weight_ = weight;
  proj_bias_ = bias;
  proj_step_bias_ = step_bias;
}

State detach(const State& s) {
  State out;
  out.reserve(s.size());
  for (const Var& v : s) out.push_back(v.detach());
  return out;
}

}  // namespace unroll::nn
