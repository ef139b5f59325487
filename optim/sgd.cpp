#include "optim/sgd.hpp"

#include "optim/simd.hpp"
#include "optim/text.hpp"

namespace unroll::optim {

void SGDOptions::validate(const std::string& who) const {
  if (!(lr >= 0)) text::invalid_option(who, "lr", lr, "lr >= 0");
  if (!(momentum >= 0)) text::invalid_option(who, "momentum", momentum, "momentum >= 0");
  if (!(weight_decay >= 0))
    text::invalid_option(who, "weight_decay", weight_decay, "weight_decay >= 0");
  if (nesterov && !(momentum > 0 && dampening == 0))
    throw std::invalid_argument(who +
                                ": nesterov = true requires momentum > 0 and dampening = 0 "
                                "(got momentum = " +
                                text::from_double(momentum) +
                                ", dampening = " + text::from_double(dampening) + ")");
}

SGD::SGD(std::vector<Var> params, Options options) {
  init({{std::move(params), options}});
}
SGD::SGD(std::vector<Group> groups) {
  init(std::move(groups));
}

const std::vector<std::string>& SGD::buffer_names() const {
  static const std::vector<std::string> names = {"momentum_buffer"};
  return names;
}

std::vector<bool> SGD::buffers_used(const std::map<std::string, double>& h) const {
  return {h.at("momentum") != 0};
}

void SGD::update(std::size_t g, Var& p, ParamState& s) {
  const Options& o = options_[g];
  // Scalars rounded to float once, as PyTorch's float kernels do with their Python scalars.
  const float wd = float(o.weight_decay), mu = float(o.momentum), damp = float(1 - o.dampening),
              neg_lr = float(-o.lr), sign = o.maximize ? -1.0f : 1.0f;
  const bool use_momentum = o.momentum != 0, nesterov = o.nesterov;
  const bool first = use_momentum && !s.buffers[0];
  float* b = use_momentum ? slot(s, 0, p).data() : nullptr;
  const float* gr = p.grad().data();
  float* w = p.mutable_value().data();
  const std::size_t n = p.size();
  s.initialized = true;
  ++s.step;
  simd::loop(n, [&](std::size_t i, auto lanes) {
    using T = typename decltype(lanes)::type;
    const T wi = simd::load<T>(w + i);
    T d = T(sign) * simd::load<T>(gr + i);
    if (wd != 0) d = d + T(wd) * wi;
    if (use_momentum) {
      const T bi = first ? d : simd::load<T>(b + i) * T(mu) + T(damp) * d;
      simd::store(b + i, bi);
      d = nesterov ? d + T(mu) * bi : bi;
    }
    simd::store(w + i, wi + T(neg_lr) * d);
  });
}

}  // namespace unroll::optim
