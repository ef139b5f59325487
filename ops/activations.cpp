#include "ops/activations.hpp"

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {
const Tensor& in(const Node& n, std::size_t i) {
  return n.inputs[i]->value;
}
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

// Marks a recorded sigmoid or tanh, so a consumer's backward can apply its derivative.
Var with_local_grad(Var y, autograd::LocalGrad kind) {
  if (y.requires_grad() && !y.node()->is_leaf()) y.node()->local_grad = kind;
  return y;
}
}  // namespace

Var tanh(const Var& x) {
  return with_local_grad(
      record(
          "tanh", xt::tanh(x.value()), {x},
          [](const Node& n, GradSink& g) { g.add(0, n.grad * (1.0f - n.value * n.value)); },
          autograd::kReadsOutput),
      autograd::LocalGrad::Tanh);
}

Var sigmoid(const Var& x) {
  // 1 / (1 + exp(-x)), as PyTorch computes it: half the cost of 0.5 * (1 + tanh(x/2))
  // (xsimd's tanh evaluates a polynomial and an exp per lane). At x < -88, exp(-x) is +inf
  // and the quotient is exactly 0, the correct limit: no NaN at any x.
  return with_local_grad(
      record(
          "sigmoid", 1.0f / (1.0f + xt::exp(-x.value())), {x},
          [](const Node& n, GradSink& g) { g.add(0, n.grad * n.value * (1.0f - n.value)); },
          autograd::kReadsOutput),
      autograd::LocalGrad::Sigmoid);
}

Var relu(const Var& x) {
  return record(
      "relu", xt::maximum(x.value(), 0.0f), {x},
      [](const Node& n, GradSink& g) { g.add(0, xt::where(in(n, 0) > 0.0f, n.grad, 0.0f)); },
      autograd::kReadsFirstInput);
}

Var leaky_relu(const Var& x, float slope) {
  return record(
      "leaky_relu", xt::where(x.value() > 0.0f, x.value(), slope * x.value()), {x},
      [slope](const Node& n, GradSink& g) {
        g.add(0, xt::where(in(n, 0) > 0.0f, n.grad, slope * n.grad));
      },
      autograd::kReadsFirstInput);
}

Var gelu(const Var& x, GeluApprox approximate) {
  const Tensor& v = x.value();
  if (approximate == GeluApprox::None) {
    return record(
        "gelu", 0.5f * v * (1.0f + xt::erf(v * kInvSqrt2)), {x},
        [](const Node& n, GradSink& g) {
          const Tensor& a = in(n, 0);
          // d/dx x*Phi(x) = Phi(x) + x*phi(x)
          g.add(0, n.grad * (0.5f * (1.0f + xt::erf(a * kInvSqrt2)) +
                             a * kInvSqrt2Pi * xt::exp(-0.5f * a * a)));
        },
        autograd::kReadsFirstInput);
  }
  return record(
      "gelu_tanh", 0.5f * v * (1.0f + xt::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v))), {x},
      [](const Node& n, GradSink& g) {
        const Tensor& a = in(n, 0);
        const Tensor t = xt::tanh(kSqrt2OverPi * (a + 0.044715f * a * a * a));
        g.add(0, n.grad * (0.5f * (1.0f + t) + 0.5f * a * (1.0f - t * t) * kSqrt2OverPi *
                                                   (1.0f + 3.0f * 0.044715f * a * a)));
      },
      autograd::kReadsFirstInput);
}

Var softplus(const Var& x, float beta, float threshold) {
  if (!(beta > 0.0f)) throw ShapeError("softplus: beta must be > 0, got " + std::to_string(beta));
  const Tensor& v = x.value();
  const auto bx = beta * v;
  // max(bx, 0) + log1p(exp(-|bx|)) never overflows; above the threshold PyTorch returns x.
  Tensor y = xt::where(bx > threshold, v,
                       (xt::maximum(bx, 0.0f) + xt::log1p(xt::exp(-xt::abs(bx)))) / beta);
  return record(
      "softplus", std::move(y), {x},
      [beta, threshold](const Node& n, GradSink& g) {
        const Tensor bx = beta * in(n, 0);
        const auto sig = 0.5f * (1.0f + xt::tanh(0.5f * bx));
        g.add(0, xt::where(bx > threshold, n.grad, n.grad * sig));
      },
      autograd::kReadsFirstInput);
}

}  // namespace unroll::ops
