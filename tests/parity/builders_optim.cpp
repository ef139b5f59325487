// Parity builders for torch.optim: config = the constructor's keyword arguments.
#include "optim/optim.hpp"
#include "parity/parity_runner.hpp"

namespace unroll::parity {
namespace {

using json = nlohmann::json;

/// An OptimizerCase stepping `opt`, which the step closure keeps alive.
template <class O>
OptimizerCase make_case(std::shared_ptr<O> opt, std::set<std::string> keys) {
  OptimizerCase c;
  c.config_keys = std::move(keys);
  c.step = [opt] { opt->step(); };
  return c;
}

OptimizerCase build_sgd(const json& cfg, const std::vector<Var>& params) {
  optim::SGDOptions o;
  o.lr = cfg.at("lr").get<double>();  // required, as in PyTorch
  o.momentum = config_or(cfg, "momentum", o.momentum);
  o.dampening = config_or(cfg, "dampening", o.dampening);
  o.weight_decay = config_or(cfg, "weight_decay", o.weight_decay);
  o.nesterov = config_or(cfg, "nesterov", o.nesterov);
  o.maximize = config_or(cfg, "maximize", o.maximize);
  return make_case(std::make_shared<optim::SGD>(params, o),
                   {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"});
}

template <class O>
OptimizerCase build_adam_like(const json& cfg, const std::vector<Var>& params) {
  typename O::Options o;
  o.lr = config_or(cfg, "lr", o.lr);
  if (cfg.contains("betas")) {
    const auto b = cfg.at("betas").get<std::vector<double>>();
    if (b.size() != 2)
      throw std::invalid_argument("betas has " + std::to_string(b.size()) + " entries, expected 2");
    o.beta1 = b[0];
    o.beta2 = b[1];
  }
  o.eps = config_or(cfg, "eps", o.eps);
  o.weight_decay = config_or(cfg, "weight_decay", o.weight_decay);
  o.amsgrad = config_or(cfg, "amsgrad", o.amsgrad);
  o.maximize = config_or(cfg, "maximize", o.maximize);
  return make_case(std::make_shared<O>(params, o),
                   {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"});
}

OptimizerCase build_rmsprop(const json& cfg, const std::vector<Var>& params) {
  optim::RMSpropOptions o;
  o.lr = config_or(cfg, "lr", o.lr);
  o.alpha = config_or(cfg, "alpha", o.alpha);
  o.eps = config_or(cfg, "eps", o.eps);
  o.weight_decay = config_or(cfg, "weight_decay", o.weight_decay);
  o.momentum = config_or(cfg, "momentum", o.momentum);
  o.centered = config_or(cfg, "centered", o.centered);
  o.maximize = config_or(cfg, "maximize", o.maximize);
  return make_case(std::make_shared<optim::RMSprop>(params, o),
                   {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"});
}

OptimizerCase build_adagrad(const json& cfg, const std::vector<Var>& params) {
  optim::AdagradOptions o;
  o.lr = config_or(cfg, "lr", o.lr);
  o.lr_decay = config_or(cfg, "lr_decay", o.lr_decay);
  o.weight_decay = config_or(cfg, "weight_decay", o.weight_decay);
  o.initial_accumulator_value =
      config_or(cfg, "initial_accumulator_value", o.initial_accumulator_value);
  o.eps = config_or(cfg, "eps", o.eps);
  o.maximize = config_or(cfg, "maximize", o.maximize);
  return make_case(
      std::make_shared<optim::Adagrad>(params, o),
      {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"});
}

const Registrar reg_sgd("SGD", OptimizerBuilder(build_sgd));
const Registrar reg_adam("Adam", OptimizerBuilder(build_adam_like<optim::Adam>));
const Registrar reg_adamw("AdamW", OptimizerBuilder(build_adam_like<optim::AdamW>));
const Registrar reg_rmsprop("RMSprop", OptimizerBuilder(build_rmsprop));
const Registrar reg_adagrad("Adagrad", OptimizerBuilder(build_adagrad));

}  // namespace
}  // namespace unroll::parity
