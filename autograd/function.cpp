#include "autograd/function.hpp"

namespace unroll::autograd {

void dispatch_custom_grads(const char* name, const Node& self, GradSink& sink, GradList grads) {
  if (grads.size() != self.inputs.size())
    throw AutogradError(std::string(name) + ": backward returned " + std::to_string(grads.size()) +
                        " gradients for " + std::to_string(self.inputs.size()) +
                        " inputs (expected one per input)");
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i] || !sink.needs(i)) continue;
    sink.add(i, std::move(*grads[i]));
  }
}

}  // namespace unroll::autograd
