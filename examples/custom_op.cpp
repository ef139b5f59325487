// A first look at unroll: record a few ops, run backward, check the gradient, and add an
// op of your own in one place (forward and backward side by side).
//
//   ./build/examples/custom_op
#include <cstdio>

#include "unroll.hpp"

using namespace unroll;

// A user-defined op: y = x^3, with its derivative 3x^2. One class, no registry to edit.
struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(autograd::FunctionContext& ctx, const autograd::TensorList& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static autograd::GradList backward(autograd::FunctionContext& ctx, const Tensor& grad_out) {
    const Tensor& x = ctx.saved(0);
    return {Tensor(grad_out * 3.0f * x * x)};
  }
};

int main() {
  // y = tanh(x W) + cube(x W): ops are recorded on the tape as they run.
  Generator gen(7);
  Var x(gen.normal_tensor({2, 3}), true);
  Var W = Var::parameter(gen.normal_tensor({3, 4}, 0.0f, 0.5f));
  Var h = ops::matmul(x, W);
  Var y = ops::tanh(h) + Cube::apply({h});

  // Reverse walk over the tape: dL/dW for L = sum(y) (seed of ones).
  y.backward(xt::ones<float>(y.value().shape()));
  std::printf("dL/dW[0][0] = %.6f\n", W.grad()(0, 0));

  // The gradient checker compares backward() with finite differences for every element.
  auto f = [&](const std::vector<Var>& in) {
    Var hh = ops::matmul(in[0], W);
    return ops::tanh(hh) + Cube::apply({hh});
  };
  auto result = autograd::gradcheck(f, {x.value()}, std::vector<Var>{W});
  std::printf("%s\n", result.report().c_str());
  return result.ok ? 0 : 1;
}
