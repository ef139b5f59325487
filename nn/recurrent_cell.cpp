#include "nn/recurrent_cell.hpp"

#include "ops/linalg.hpp"

namespace unroll::nn {

Var RecurrentCell::project_input(const Var& x) const {
  return has_input_projection() ? ops::linear(x, proj_weight_, proj_bias_) : x;
}

State RecurrentCell::forward(const Var& x, const State& state) {
  return step(project_input(x), state);
}

void RecurrentCell::declare_input_projection(const Var& weight, const Var& bias) {
  proj_weight_ = weight;
  proj_bias_ = bias;
}

State detach(const State& s) {
  State out;
  out.reserve(s.size());
  for (const Var& v : s) out.push_back(v.detach());
  return out;
}

}  // namespace unroll::nn
