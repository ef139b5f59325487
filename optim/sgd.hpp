#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay:
// exactly torch.optim.SGD (1.13, single-tensor path).

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// SGD hyper-parameters (PyTorch names and defaults; PyTorch has no default lr).
struct SGDOptions {
  /// Learning rate.
  double lr = 0.01;
  /// Momentum factor μ (0: plain SGD, no buffer).
  double momentum = 0.0;
  /// Dampening τ applied to the gradient in the momentum update.
  double dampening = 0.0;
  /// L2 penalty coefficient added to the gradient: g += wd·p.
  double weight_decay = 0.0;
  /// Use Nesterov momentum (requires momentum > 0 and dampening = 0).
  bool nesterov = false;
  bool maximize = false;  ///< ascend instead of descend
  /// std::invalid_argument naming the option and value: lr, momentum or weight_decay < 0,
  /// nesterov without momentum > 0 and dampening = 0.
  void validate(const std::string& who) const;
  template <class Self, class F>
  /// Calls f(name, field) for each field of `o`, by PyTorch name.
  static void visit(Self& o, F&& f) {
    f("lr", o.lr), f("momentum", o.momentum), f("dampening", o.dampening);
    f("weight_decay", o.weight_decay), f("nesterov", o.nesterov), f("maximize", o.maximize);
  }
};

/// g = ±grad + wd·p;  b = g (first step) or μ·b + (1-τ)·g;  g = g + μ·b (Nesterov) or b;
/// p -= lr·g. State: "momentum_buffer" (only when momentum != 0).
class SGD : public OptimizerWith<SGDOptions> {
 public:
  /// The hyper-parameter struct of this optimizer.
  using Options = SGDOptions;
  /// One group of `params` with `options`; std::invalid_argument if they are invalid.
  SGD(std::vector<Var> params, Options options);
  /// Several groups, each with its own options; std::invalid_argument if invalid.
  explicit SGD(std::vector<Group> groups);
  std::string name() const override { return "SGD"; }

 protected:
  const std::vector<std::string>& buffer_names() const override;
  std::vector<bool> buffers_used(const std::map<std::string, double>& h) const override;
  void update(std::size_t g, Var& p, ParamState& s) override;
};

}  // namespace unroll::optim
