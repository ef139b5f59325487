#include "optim/rmsprop.hpp"

#include <cmath>

#include "optim/simd.hpp"
#include "optim/text.hpp"

namespace unroll::optim {

void RMSpropOptions::validate(const std::string& who) const {
  if (!(lr >= 0)) text::invalid_option(who, "lr", lr, "lr >= 0");
  if (!(eps >= 0)) text::invalid_option(who, "eps", eps, "eps >= 0");
  if (!(momentum >= 0)) text::invalid_option(who, "momentum", momentum, "momentum >= 0");
  if (!(weight_decay >= 0))
    text::invalid_option(who, "weight_decay", weight_decay, "weight_decay >= 0");
  if (!(alpha >= 0)) text::invalid_option(who, "alpha", alpha, "alpha >= 0");
}

RMSprop::RMSprop(std::vector<Var> params, Options options) {
  init({{std::move(params), options}});
}
RMSprop::RMSprop(std::vector<Group> groups) {
  init(std::move(groups));
}

const std::vector<std::string>& RMSprop::buffer_names() const {
  static const std::vector<std::string> names = {"square_avg", "momentum_buffer", "grad_avg"};
  return names;
}

std::vector<bool> RMSprop::buffers_used(const std::map<std::string, double>& h) const {
  return {true, h.at("momentum") > 0, h.at("centered") != 0};
}

void RMSprop::update(std::size_t g, Var& p, ParamState& s) {
  const Options& o = options_[g];
  ++s.step;  // kept for PyTorch's state_dict; the update does not use it
  s.initialized = true;
  const float a = float(o.alpha), ca = float(1 - o.alpha), eps = float(o.eps),
              wd = float(o.weight_decay), mu = float(o.momentum), neg_lr = float(-o.lr),
              sign = o.maximize ? -1.0f : 1.0f;
  float* v = slot(s, 0, p).data();
  float* b = o.momentum > 0 ? slot(s, 1, p).data() : nullptr;
  float* ga = o.centered ? slot(s, 2, p).data() : nullptr;
  const float* gr = p.grad().data();
  float* w = p.mutable_value().data();
  const std::size_t n = p.size();
  simd::loop(n, [&](std::size_t i, auto lanes) {
    using T = typename decltype(lanes)::type;
    const T wi = simd::load<T>(w + i);
    T g = T(sign) * simd::load<T>(gr + i);
    if (wd != 0) g = g + T(wd) * wi;
    const T vi = simd::load<T>(v + i) * T(a) + T(ca) * g * g;
    simd::store(v + i, vi);
    T avg;
    if (ga) {
      const T gai = simd::load<T>(ga + i) * T(a) + T(ca) * g;
      simd::store(ga + i, gai);
      avg = simd::sqrt(vi - gai * gai);
    } else {
      avg = simd::sqrt(vi);
    }
    avg = avg + T(eps);
    if (b) {
      const T bi = simd::load<T>(b + i) * T(mu) + g / avg;
      simd::store(b + i, bi);
      simd::store(w + i, wi + T(neg_lr) * bi);
    } else {
      simd::store(w + i, wi + T(neg_lr) * g / avg);
    }
  });
}

}  // namespace unroll::optim
