#include "ops/elementwise.hpp"

#include <cmath>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {
// Shape errors must name the op; xtensor's own broadcast error would not.
void check_broadcast(const char* op, const Var& a, const Var& b) {
  if (a.value().shape() != b.value().shape()) autograd::broadcast_shapes(op, a.shape(), b.shape());
}
const Tensor& in(const Node& n, std::size_t i) {
  return n.inputs[i]->value;
}
}  // namespace

Var add(const Var& a, const Var& b) {
  check_broadcast("add", a, b);
  return record(
      "add", a.value() + b.value(), {a, b},
      [](const Node& n, GradSink& g) {
        g.add(0, n.grad);
        g.add(1, n.grad);
      },
      autograd::kReadsNothing);
}

Var sub(const Var& a, const Var& b) {
  check_broadcast("sub", a, b);
  return record(
      "sub", a.value() - b.value(), {a, b},
      [](const Node& n, GradSink& g) {
        g.add(0, n.grad);
        if (g.needs(1)) g.add(1, -n.grad);
      },
      autograd::kReadsNothing);
}

Var mul(const Var& a, const Var& b) {
  check_broadcast("mul", a, b);
  return record(
      "mul", a.value() * b.value(), {a, b},
      [](const Node& n, GradSink& g) {
        if (g.needs(0)) g.add(0, n.grad * in(n, 1));
        if (g.needs(1)) g.add(1, n.grad * in(n, 0));
      },
      autograd::kReadsInputs);
}

Var div(const Var& a, const Var& b) {
  check_broadcast("div", a, b);
  return record(
      "div", a.value() / b.value(), {a, b},
      [](const Node& n, GradSink& g) {
        if (g.needs(0)) g.add(0, n.grad / in(n, 1));
        // d(a/b)/db = -a/b^2 = -y/b
        if (g.needs(1)) g.add(1, -n.grad * n.value / in(n, 1));
      },
      autograd::Reads{true, 0b10});
}

Var neg(const Var& a) {
  return record(
      "neg", -a.value(), {a}, [](const Node& n, GradSink& g) { g.add(0, -n.grad); },
      autograd::kReadsNothing);
}

Var add(const Var& a, float s) {
  return record(
      "add_scalar", a.value() + s, {a}, [](const Node& n, GradSink& g) { g.add(0, n.grad); },
      autograd::kReadsNothing);
}

Var mul(const Var& a, float s) {
  return record(
      "mul_scalar", a.value() * s, {a}, [s](const Node& n, GradSink& g) { g.add(0, n.grad * s); },
      autograd::kReadsNothing);
}

Var rsub(float s, const Var& a) {
  return record(
      "rsub_scalar", s - a.value(), {a}, [](const Node& n, GradSink& g) { g.add(0, -n.grad); },
      autograd::kReadsNothing);
}

Var rdiv(float s, const Var& a) {
  return record("rdiv_scalar", s / a.value(), {a}, [](const Node& n, GradSink& g) {
    g.add(0, -n.grad * n.value / in(n, 0));  // d(s/a)/da = -s/a^2 = -y/a
  });
}

Var pow(const Var& a, float p) {
  return record(
      "pow_scalar", xt::pow(a.value(), p), {a},
      [p](const Node& n, GradSink& g) { g.add(0, n.grad * p * xt::pow(in(n, 0), p - 1.0f)); },
      autograd::kReadsFirstInput);
}

Var pow(const Var& a, const Var& b) {
  check_broadcast("pow", a, b);
  return record("pow", xt::pow(a.value(), b.value()), {a, b}, [](const Node& n, GradSink& g) {
    const Tensor& x = in(n, 0);
    const Tensor& e = in(n, 1);
    if (g.needs(0)) g.add(0, n.grad * e * xt::pow(x, e - 1.0f));
    if (g.needs(1)) g.add(1, n.grad * n.value * xt::log(x));
  });
}

Var exp(const Var& a) {
  return record(
      "exp", xt::exp(a.value()), {a},
      [](const Node& n, GradSink& g) { g.add(0, n.grad * n.value); }, autograd::kReadsOutput);
}

Var log(const Var& a) {
  return record(
      "log", xt::log(a.value()), {a},
      [](const Node& n, GradSink& g) { g.add(0, n.grad / in(n, 0)); }, autograd::kReadsFirstInput);
}

Var sqrt(const Var& a) {
  return record(
      "sqrt", xt::sqrt(a.value()), {a},
      [](const Node& n, GradSink& g) { g.add(0, n.grad * 0.5f / n.value); },
      autograd::kReadsOutput);
}

Var abs(const Var& a) {
  return record(
      "abs", xt::abs(a.value()), {a},
      [](const Node& n, GradSink& g) { g.add(0, n.grad * xt::sign(in(n, 0))); },
      autograd::kReadsFirstInput);
}

Var clamp(const Var& a, float lo, float hi) {
  if (lo > hi)
    throw ShapeError("clamp: lower bound " + std::to_string(lo) + " exceeds upper bound " +
                     std::to_string(hi));
  return record(
      "clamp", xt::clip(a.value(), lo, hi), {a},
      [lo, hi](const Node& n, GradSink& g) {
        const Tensor& x = in(n, 0);
        g.add(0, xt::where(x >= lo && x <= hi, n.grad, 0.0f));
      },
      autograd::kReadsFirstInput);
}

Var maximum(const Var& a, const Var& b) {
  check_broadcast("maximum", a, b);
  return record(
      "maximum", xt::maximum(a.value(), b.value()), {a, b},
      [](const Node& n, GradSink& g) {
        const Tensor& x = in(n, 0);
        const Tensor& y = in(n, 1);
        // xt::equal, not ==: on xtensor expressions == compares whole arrays.
        const auto tie = 0.5f * n.grad;
        if (g.needs(0)) g.add(0, xt::where(x > y, n.grad, xt::where(xt::equal(x, y), tie, 0.0f)));
        if (g.needs(1)) g.add(1, xt::where(y > x, n.grad, xt::where(xt::equal(x, y), tie, 0.0f)));
      },
      autograd::kReadsInputs);
}

Var minimum(const Var& a, const Var& b) {
  check_broadcast("minimum", a, b);
  return record(
      "minimum", xt::minimum(a.value(), b.value()), {a, b},
      [](const Node& n, GradSink& g) {
        const Tensor& x = in(n, 0);
        const Tensor& y = in(n, 1);
        // xt::equal, not ==: on xtensor expressions == compares whole arrays.
        const auto tie = 0.5f * n.grad;
        if (g.needs(0)) g.add(0, xt::where(x < y, n.grad, xt::where(xt::equal(x, y), tie, 0.0f)));
        if (g.needs(1)) g.add(1, xt::where(y < x, n.grad, xt::where(xt::equal(x, y), tie, 0.0f)));
      },
      autograd::kReadsInputs);
}

}  // namespace unroll::ops
