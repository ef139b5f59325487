#pragma once
// Adagrad with learning-rate decay, an initial accumulator and L2 weight decay: exactly
// torch.optim.Adagrad (1.13, dense single-tensor path).

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// Adagrad hyper-parameters (PyTorch names and defaults).
struct AdagradOptions {
  /// Learning rate.
  double lr = 1e-2;
  /// Learning-rate decay: clr = lr / (1 + (t-1)·lr_decay).
  double lr_decay = 0.0;
  /// L2 penalty coefficient added to the gradient: g += wd·p.
  double weight_decay = 0.0;
  /// Starting value of the "sum" accumulator.
  double initial_accumulator_value = 0.0;
  /// Added to sqrt(sum) in the denominator for numerical stability.
  double eps = 1e-10;
  /// Ascend instead of descend (use -grad).
  bool maximize = false;
  /// std::invalid_argument naming the option and value: any of the numbers < 0.
  void validate(const std::string& who) const;
  template <class Self, class F>
  /// Calls f(name, field) for each field of `o`, by PyTorch name.
  static void visit(Self& o, F&& f) {
    f("lr", o.lr), f("lr_decay", o.lr_decay), f("weight_decay", o.weight_decay);
    f("initial_accumulator_value", o.initial_accumulator_value), f("eps", o.eps);
    f("maximize", o.maximize);
  }
};

/// t += 1;  g = ±grad + wd·p;  clr = lr / (1 + (t-1)·lr_decay);  S += g²;
/// p -= clr · g / (sqrt(S) + eps). State "sum" starts at initial_accumulator_value for
/// every parameter at construction (as PyTorch), with the step count.
class Adagrad : public OptimizerWith<AdagradOptions> {
 public:
  /// The hyper-parameter struct of this optimizer.
  using Options = AdagradOptions;
  /// One group of `params` with `options`; std::invalid_argument if they are invalid.
  Adagrad(std::vector<Var> params, Options options);
  /// Several groups, each with its own options; std::invalid_argument if invalid.
  explicit Adagrad(std::vector<Group> groups);
  std::string name() const override { return "Adagrad"; }

 protected:
  const std::vector<std::string>& buffer_names() const override;
  std::vector<bool> buffers_used(const std::map<std::string, double>& h) const override;
  void update(std::size_t g, Var& p, ParamState& s) override;

 private:
  void init_state();
};

}  // namespace unroll::optim
