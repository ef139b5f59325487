#pragma once
// Module: parameters and child modules registered by name, so every parameter has a
// stable dotted name (PyTorch's state_dict names) instead of a position.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/errors.hpp"
#include "autograd/var.hpp"

namespace unroll::nn {

/// (dotted name, parameter) pairs, as returned by Module::named_parameters().
using NamedParameters = std::vector<std::pair<std::string, Var>>;

/// Base of every layer. Parameters are leaf Vars; handles returned by register_parameter
/// share the node, so loading a state dict updates the module in place.
class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  /// Every parameter, recursively, in registration order, with dotted names
  /// ("encoder.weight_ih_l0").
  NamedParameters named_parameters() const;
  /// The parameters alone, in the same order.
  std::vector<Var> parameters() const;
  /// Total number of scalar parameters.
  std::size_t num_parameters() const;
  /// The parameter with this dotted name; throws std::out_of_range naming it otherwise.
  Var parameter(const std::string& name) const;

  /// Train mode (dropout active) or eval mode, recursively.
  virtual void train(bool on = true);
  /// Eval mode (dropout off), recursively: train(false).
  void eval() { train(false); }
  /// Whether the module is in train mode (the default).
  bool is_training() const { return training_; }
  /// Forget every parameter's gradient.
  void zero_grad();

  /// Child modules with their names.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

 protected:
  /// Adds a parameter initialised to `init`; returns the handle to keep as a member.
  Var register_parameter(const std::string& name, Tensor init);
  /// Adds a child whose parameters appear as "<name>.<param>".
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m, false);
    return m;
  }
  /// Adds a child whose parameters appear as "<param>_<suffix>": PyTorch's flat naming
  /// for stacked recurrent layers ("weight_ih" of layer 1's reverse cell ->
  /// "weight_ih_l1_reverse").
  template <class M>
  std::shared_ptr<M> register_module_suffixed(const std::string& suffix, std::shared_ptr<M> m) {
    add_child(suffix, m, true);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m, bool suffixed);
  void collect(const std::string& prefix, const std::string& suffix, NamedParameters& out) const;

  NamedParameters params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<bool> suffixed_;
  bool training_ = true;
};

}  // namespace unroll::nn
