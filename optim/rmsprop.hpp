#pragma once
// RMSprop, plain or centered, with optional momentum and L2 weight decay: exactly
// torch.optim.RMSprop (1.13, single-tensor path).

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// RMSprop hyper-parameters (PyTorch names and defaults).
struct RMSpropOptions {
  /// Learning rate.
  double lr = 1e-2;
  /// Smoothing constant of the squared-gradient average (α).
  double alpha = 0.99;
  /// Added to the denominator for numerical stability.
  double eps = 1e-8;
  /// L2 penalty coefficient added to the gradient: g += wd·p.
  double weight_decay = 0.0;
  /// Momentum factor μ (0: no momentum buffer).
  double momentum = 0.0;
  /// Normalize by the estimated variance sqrt(v - ḡ²) instead of sqrt(v).
  bool centered = false;
  /// Ascend instead of descend (use -grad).
  bool maximize = false;
  /// std::invalid_argument naming the option and value: lr, alpha, eps, weight_decay or
  /// momentum < 0.
  void validate(const std::string& who) const;
  template <class Self, class F>
  /// Calls f(name, field) for each field of `o`, by PyTorch name.
  static void visit(Self& o, F&& f) {
    f("lr", o.lr), f("alpha", o.alpha), f("eps", o.eps), f("weight_decay", o.weight_decay);
    f("momentum", o.momentum), f("centered", o.centered), f("maximize", o.maximize);
  }
};

/// g = ±grad + wd·p;  v = α·v + (1-α)·g²;  ḡ = α·ḡ + (1-α)·g (centered);
/// d = sqrt(v - ḡ²) (centered) or sqrt(v), plus eps;
/// b = μ·b + g/d, p -= lr·b (momentum > 0), else p -= lr·g/d.
/// State: "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered), step.
class RMSprop : public OptimizerWith<RMSpropOptions> {
 public:
  /// The hyper-parameter struct of this optimizer.
  using Options = RMSpropOptions;
  /// One group of `params` with `options`; std::invalid_argument if they are invalid.
  RMSprop(std::vector<Var> params, Options options);
  /// Several groups, each with its own options; std::invalid_argument if invalid.
  explicit RMSprop(std::vector<Group> groups);
  std::string name() const override { return "RMSprop"; }

 protected:
  const std::vector<std::string>& buffer_names() const override;
  std::vector<bool> buffers_used(const std::map<std::string, double>& h) const override;
  void update(std::size_t g, Var& p, ParamState& s) override;
};

}  // namespace unroll::optim
