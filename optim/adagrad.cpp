#include "optim/adagrad.hpp"

#include <cmath>

#include "optim/simd.hpp"
#include "optim/text.hpp"

namespace unroll::optim {

void AdagradOptions::validate(const std::string& who) const {
  if (!(lr >= 0)) text::invalid_option(who, "lr", lr, "lr >= 0");
  if (!(lr_decay >= 0)) text::invalid_option(who, "lr_decay", lr_decay, "lr_decay >= 0");
  if (!(weight_decay >= 0))
    text::invalid_option(who, "weight_decay", weight_decay, "weight_decay >= 0");
  if (!(initial_accumulator_value >= 0))
    text::invalid_option(who, "initial_accumulator_value", initial_accumulator_value,
                         "initial_accumulator_value >= 0");
  if (!(eps >= 0)) text::invalid_option(who, "eps", eps, "eps >= 0");
}

Adagrad::Adagrad(std::vector<Var> params, Options options) {
  init({{std::move(params), options}});
  init_state();
}
Adagrad::Adagrad(std::vector<Group> groups) {
  init(std::move(groups));
  init_state();
}

// PyTorch creates Adagrad's state eagerly, so even never-stepped parameters have a "sum".
void Adagrad::init_state() {
  for (std::size_t g = 0; g < params_.size(); ++g)
    for (std::size_t i = 0; i < params_[g].size(); ++i) {
      ParamState& s = state_[g][i];
      s.initialized = true;
      slot(s, 0, params_[g][i], float(options_[g].initial_accumulator_value));
    }
}

const std::vector<std::string>& Adagrad::buffer_names() const {
  static const std::vector<std::string> names = {"sum"};
  return names;
}

std::vector<bool> Adagrad::buffers_used(const std::map<std::string, double>&) const {
  return {true};
}

void Adagrad::update(std::size_t g, Var& p, ParamState& s) {
  const Options& o = options_[g];
  ++s.step;
  s.initialized = true;
  const double clr = o.lr / (1 + double(s.step - 1) * o.lr_decay);
  const float neg_clr = float(-clr), eps = float(o.eps), wd = float(o.weight_decay),
              sign = o.maximize ? -1.0f : 1.0f;
  float* sum = slot(s, 0, p, float(o.initial_accumulator_value)).data();
  const float* gr = p.grad().data();
  float* w = p.mutable_value().data();
  const std::size_t n = p.size();
  simd::loop(n, [&](std::size_t i, auto lanes) {
    using T = typename decltype(lanes)::type;
    const T wi = simd::load<T>(w + i);
    T g = T(sign) * simd::load<T>(gr + i);
    if (wd != 0) g = g + T(wd) * wi;
    const T si = simd::load<T>(sum + i) + g * g;
    simd::store(sum + i, si);
    simd::store(w + i, wi + T(neg_clr) * g / (simd::sqrt(si) + T(eps)));
  });
}

}  // namespace unroll::optim
