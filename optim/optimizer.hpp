#pragma once
// Optimizer: parameter groups with their own hyper-parameters, one update per step, and
// per-parameter state (moments, step counts) exportable as named tensors + metadata
// strings, so a checkpoint can restore it exactly.
//
// A concrete optimizer (SGD, Adam, ...) is an Options struct, a list of state buffer names
// and one update loop per parameter; the base does groups, validation and state I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/var.hpp"

namespace unroll::optim {

/// Named tensors, in order: what state_tensors() exports and checkpoints store.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// String metadata (scalar state, hyper-parameters), as safetensors `__metadata__` holds it.
using Metadata = std::map<std::string, std::string>;

/// Optimizer or schedule state that does not match the object it is loaded into; the
/// message lists every problem (one per line) and `problems` holds them.
class StateError : public std::runtime_error {
 public:
  /// Builds the error from its message `what` and the list of `problems`.
  StateError(const std::string& what, std::vector<std::string> problems)
      : std::runtime_error(what), problems(std::move(problems)) {}
  /// Every problem found, one entry each.
  std::vector<std::string> problems;
};

/// A set of parameters sharing hyper-parameters (PyTorch's param_groups entry).
/// Typical use: weights with weight decay, biases and norm gains without.
template <class Options>
struct ParamGroup {
  /// The parameters of this group.
  std::vector<Var> params;
  /// Hyper-parameters shared by every parameter of the group.
  Options options;
};

/// Parameters split for the usual weight-decay groups.
struct DecaySplit {
  std::vector<Var> decay;     ///< rank >= 2: weight matrices, embeddings
  std::vector<Var> no_decay;  ///< rank <= 1: biases, norm gains and shifts
};
/// The common rule (no weight decay on biases and norms) by rank, for named parameters
/// as nn::Module::named_parameters() returns them.
DecaySplit split_for_weight_decay(const std::vector<std::pair<std::string, Var>>& named);

/// Base of every optimizer. Parameters without a gradient (`!p.has_grad()`) are skipped by
/// step(), as PyTorch skips `grad is None`.
class Optimizer {
 public:
  /// A parameter's state: `buffers[k]` holds slot k of buffer_names() when present.
  struct ParamState {
    /// Whether the state exists (stepped, loaded, or created eagerly as Adagrad's).
    bool initialized = false;
    /// Number of updates applied so far (PyTorch's `step`).
    std::int64_t step = 0;
    /// Buffer tensors by slot; empty optional when the slot is unused.
    std::vector<std::optional<Tensor>> buffers;
  };

  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// PyTorch's class name: "SGD", "Adam", "AdamW", "RMSprop", "Adagrad".
  virtual std::string name() const = 0;

  /// One update of every parameter that has a gradient, group by group.
  void step();
  /// Forget every parameter's gradient (PyTorch's zero_grad(set_to_none=True)): a
  /// parameter the next backward does not reach is skipped by the next step.
  void zero_grad();

  /// Number of parameter groups.
  std::size_t num_groups() const { return params_.size(); }
  /// The parameters of group `g`.
  const std::vector<Var>& params(std::size_t group) const;
  /// Learning rate of group 0 (of group `g`).
  double lr() const { return lr(0); }
  /// Learning rate of group `group`.
  double lr(std::size_t group) const;
  /// Sets the learning rate of every group (of group `g`); std::invalid_argument if < 0.
  void set_lr(double lr);
  /// Sets the learning rate of group `group`; std::invalid_argument if < 0.
  void set_lr(std::size_t group, double lr);
  /// Hyper-parameters of group `g` by PyTorch name (booleans as 0/1): "lr", "beta1", ...
  std::map<std::string, double> hyper_parameters(std::size_t group) const;

  /// Per-parameter state tensors named "state.<group>.<index>.<buffer>" (buffer:
  /// exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer, square_avg, grad_avg, sum),
  /// for parameters that have state (were stepped, or Adagrad's eager state).
  NamedTensors state_tensors() const;
  /// Everything else: "type", "groups", "group.<g>.params" (count), "group.<g>.shapes",
  /// "group.<g>.<hyper>" (exact decimal) and "state.<g>.<i>.step" per stateful parameter.
  Metadata state_metadata() const;
  /// Every way `tensors`/`metadata` (as exported above) do not fit this optimizer: other
  /// type, group or parameter counts or shapes, missing/unexpected/misshaped tensors,
  /// invalid hyper-parameters. Empty when they can be loaded.
  std::vector<std::string> state_problems(const NamedTensors& tensors,
                                          const Metadata& metadata) const;
  /// Replaces hyper-parameters and state with the exported ones (PyTorch's
  /// load_state_dict). All or nothing: throws StateError listing state_problems() and
  /// changes nothing when there are any.
  void load_state_tensors(const NamedTensors& tensors, const Metadata& metadata);

 protected:
  Optimizer() = default;
  /// Installs the groups: std::invalid_argument for no parameters at all, an undefined
  /// Var, or a parameter in two groups.
  void set_groups(std::vector<std::vector<Var>> groups);
  /// Every buffer slot this optimizer can hold, by name (index = slot).
  virtual const std::vector<std::string>& buffer_names() const = 0;
  /// The slots a stepped parameter holds under hyper-parameters `h`.
  virtual std::vector<bool> buffers_used(const std::map<std::string, double>& h) const = 0;
  /// Updates parameter `p` of group `g` from p.grad(); creates its state on first use.
  virtual void update(std::size_t g, Var& p, ParamState& s) = 0;
  /// Learning rate stored in group `g`'s options.
  virtual double group_lr(std::size_t g) const = 0;
  /// Stores `lr` in group `g`'s options (no validation).
  virtual void set_group_lr(std::size_t g, double lr) = 0;
  /// Hyper-parameters of group `g` by PyTorch name (booleans as 0/1).
  virtual std::map<std::string, double> get_hyper(std::size_t g) const = 0;
  /// Throws std::invalid_argument when `h` lacks a key or holds an invalid value.
  virtual void check_hyper(const std::map<std::string, double>& h) const = 0;
  /// Replaces group `g`'s hyper-parameters with `h` (validated as check_hyper does).
  virtual void set_hyper(std::size_t g, const std::map<std::string, double>& h) = 0;

  /// A zero-filled (or `fill`-filled) tensor shaped like `p`.
  static Tensor like(const Var& p, float fill = 0.0f);
  /// Buffer slot `k` of `s`, created shaped like `p` and filled with `fill` if absent.
  static Tensor& slot(ParamState& s, std::size_t k, const Var& p, float fill = 0.0f);

  /// Parameters by group: params_[g][i].
  std::vector<std::vector<Var>> params_;
  /// Per-parameter state, indexed like params_: state_[g][i].
  std::vector<std::vector<ParamState>> state_;
};

/// An optimizer whose groups carry an `Options` struct (lr first). `Options` provides
/// `validate(name)` (std::invalid_argument naming option and value) and
/// `visit(self, f)` calling f(name, field) for each double/bool field.
template <class Options>
class OptimizerWith : public Optimizer {
 public:
  /// A parameter group carrying this optimizer's Options.
  using Group = ParamGroup<Options>;
  /// The options of group `g`.
  const Options& options(std::size_t group = 0) const { return options_.at(group); }
  /// Replaces the options of group `g` after validating them.
  void set_options(std::size_t group, const Options& o) {
    o.validate(name());
    options_.at(group) = o;
  }

 protected:
  /// Called from the derived constructor's body, where name() already dispatches.
  void init(std::vector<Group> groups) {
    std::vector<std::vector<Var>> ps;
    for (auto& g : groups) {
      g.options.validate(name());
      ps.push_back(std::move(g.params));
      options_.push_back(g.options);
    }
    set_groups(std::move(ps));
  }

  /// Learning rate of group `g` (options_[g].lr).
  double group_lr(std::size_t g) const override { return options_[g].lr; }
  /// Sets options_[g].lr to `lr` (no validation).
  void set_group_lr(std::size_t g, double lr) override { options_[g].lr = lr; }

  /// Group `g`'s options as name -> value (booleans as 0/1).
  std::map<std::string, double> get_hyper(std::size_t g) const override {
    std::map<std::string, double> h;
    Options::visit(options_[g], [&](const char* n, const auto& v) { h[n] = double(v); });
    return h;
  }
  /// Options from `h`; std::invalid_argument for a missing key, non-0/1 boolean or bad value.
  Options parse(const std::map<std::string, double>& h) const {
    Options o;
    Options::visit(o, [&](const char* n, auto& v) {
      auto it = h.find(n);
      if (it == h.end())
        throw std::invalid_argument(name() + ": hyper-parameter '" + n + "' is missing");
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, bool>) {
        if (it->second != 0.0 && it->second != 1.0)
          throw std::invalid_argument(name() + ": hyper-parameter '" + n +
                                      "' = " + std::to_string(it->second) + ", expected 0 or 1");
      }
      v = static_cast<T>(it->second);
    });
    o.validate(name());
    return o;
  }
  /// Throws as parse(h) does; otherwise does nothing.
  void check_hyper(const std::map<std::string, double>& h) const override { (void)parse(h); }
  /// Replaces group `g`'s options with parse(h).
  void set_hyper(std::size_t g, const std::map<std::string, double>& h) override {
    options_[g] = parse(h);
  }

  /// Options of each group, indexed like params_.
  std::vector<Options> options_;
};

}  // namespace unroll::optim
