#pragma once
// Adagrad with learning-rate decay, an initial accumulator and L2 weight decay: exactly
// torch.optim.Adagrad (1.13, dense single-tensor path).

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// Adagrad hyper-parameters (PyTorch names and defaults).
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
  /// std::invalid_argument naming the option and value: any of the numbers < 0.
  void validate(const std::string& who) const;
  template <class Self, class F>
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
  using Options = AdagradOptions;
  Adagrad(std::vector<Var> params, Options options);
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
