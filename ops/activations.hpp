#pragma once
// Activation functions, element-wise on any shape.

#include "autograd/var.hpp"

namespace unroll::ops {

/// tanh(x); d/dx = 1 - y^2.
Var tanh(const Var& x);
/// sigmoid(x) = 1 / (1 + e^-x), computed without overflow for large |x|; d/dx = y (1 - y).
Var sigmoid(const Var& x);
/// relu(x) = max(x, 0); gradient 0 at x = 0 (PyTorch).
Var relu(const Var& x);
/// leaky_relu(x) = x if x > 0 else slope * x.
Var leaky_relu(const Var& x, float negative_slope = 0.01f);
/// How gelu is computed: PyTorch's approximate='none' (erf) or approximate='tanh'.
enum class GeluApprox { None, Tanh };
/// gelu(x) = x * Phi(x) (erf form) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
Var gelu(const Var& x, GeluApprox approximate = GeluApprox::None);
/// softplus(x) = log(1 + e^(beta x)) / beta, linear where beta x > threshold (PyTorch).
Var softplus(const Var& x, float beta = 1.0f, float threshold = 20.0f);

}  // namespace unroll::ops
