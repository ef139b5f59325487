#include "nn/module.hpp"

#include <stdexcept>

namespace unroll::nn {

Var Module::register_parameter(const std::string& name, Tensor init) {
  for (const auto& [n, v] : params_)
    if (n == name) throw std::invalid_argument("register_parameter: duplicate name '" + name + "'");
  Var p = Var::parameter(std::move(init));
  params_.emplace_back(name, p);
  return p;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m, bool suffixed) {
  if (!m) throw std::invalid_argument("register_module: '" + name + "' is null");
  children_.emplace_back(name, std::move(m));
  suffixed_.push_back(suffixed);
}

void Module::collect(const std::string& prefix, const std::string& suffix,
                     NamedParameters& out) const {
  for (const auto& [n, v] : params_) out.emplace_back(prefix + n + suffix, v);
  for (std::size_t i = 0; i < children_.size(); ++i) {
    const auto& [name, child] = children_[i];
    if (suffixed_[i])
      child->collect(prefix, suffix + "_" + name, out);
    else
      child->collect(prefix + name + ".", suffix, out);
  }
}

NamedParameters Module::named_parameters() const {
  NamedParameters out;
  collect("", "", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [n, v] : named_parameters()) out.push_back(v);
  return out;
}

std::size_t Module::num_parameters() const {
  std::size_t n = 0;
  for (auto& [name, v] : named_parameters()) n += v.size();
  return n;
}

Var Module::parameter(const std::string& name) const {
  for (auto& [n, v] : named_parameters())
    if (n == name) return v;
  throw std::out_of_range("parameter: no parameter named '" + name + "'");
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (auto& [n, v] : named_parameters()) v.zero_grad();
}

}  // namespace unroll::nn
