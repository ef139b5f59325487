#pragma once
// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay):
// exactly torch.optim.Adam / AdamW (1.13, single-tensor path), AMSGrad included.

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// Adam hyper-parameters (PyTorch names and defaults; betas = (beta1, beta2)).
struct AdamOptions {
  /// Learning rate.
  double lr = 1e-3;
  /// Decay rate of the first-moment average m (β1).
  double beta1 = 0.9;
  /// Decay rate of the second-moment average v (β2).
  double beta2 = 0.999;
  /// Added to the denominator for numerical stability.
  double eps = 1e-8;
  /// Weight-decay coefficient (L2 on the gradient for Adam, decoupled for AdamW).
  double weight_decay = 0.0;
  /// Use the running maximum of v (AMSGrad).
  bool amsgrad = false;
  /// Ascend instead of descend (use -grad).
  bool maximize = false;
  /// std::invalid_argument naming the option and value: lr, eps or weight_decay < 0,
  /// beta1 or beta2 outside [0, 1).
  void validate(const std::string& who) const;
  template <class Self, class F>
  /// Calls f(name, field) for each field of `o`, by PyTorch name.
  static void visit(Self& o, F&& f) {
    f("lr", o.lr), f("beta1", o.beta1), f("beta2", o.beta2), f("eps", o.eps);
    f("weight_decay", o.weight_decay), f("amsgrad", o.amsgrad), f("maximize", o.maximize);
  }
};

/// AdamW's defaults differ from Adam's only in weight_decay = 1e-2.
struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2; }
};

/// t += 1;  g = ±grad + wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
/// v̂ = max(v̂, v) (AMSGrad, else v̂ = v);  p -= lr/(1-β1^t) · m / (sqrt(v̂)/sqrt(1-β2^t) + eps).
/// State: "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (AMSGrad) and the step count.
class Adam : public OptimizerWith<AdamOptions> {
 public:
  /// The hyper-parameter struct of this optimizer.
  using Options = AdamOptions;
  /// One group of `params` with `options`; std::invalid_argument if they are invalid.
  Adam(std::vector<Var> params, Options options);
  /// Several groups, each with its own options; std::invalid_argument if invalid.
  explicit Adam(std::vector<Group> groups);
  std::string name() const override { return "Adam"; }

 protected:
  const std::vector<std::string>& buffer_names() const override;
  std::vector<bool> buffers_used(const std::map<std::string, double>& h) const override;
  void update(std::size_t g, Var& p, ParamState& s) override;
};

/// As Adam, but the decay is decoupled from the moments: p *= 1 - lr·wd first, and g is
/// the raw gradient (Loshchilov & Hutter).
class AdamW : public OptimizerWith<AdamWOptions> {
 public:
  /// The hyper-parameter struct of this optimizer.
  using Options = AdamWOptions;
  /// One group of `params` with `options`; std::invalid_argument if they are invalid.
  AdamW(std::vector<Var> params, Options options);
  /// Several groups, each with its own options; std::invalid_argument if invalid.
  explicit AdamW(std::vector<Group> groups);
  std::string name() const override { return "AdamW"; }

 protected:
  const std::vector<std::string>& buffer_names() const override;
  std::vector<bool> buffers_used(const std::map<std::string, double>& h) const override;
  void update(std::size_t g, Var& p, ParamState& s) override;
};

}  // namespace unroll::optim
