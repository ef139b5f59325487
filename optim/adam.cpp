#include "optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "optim/simd.hpp"
#include "optim/text.hpp"

namespace unroll::optim {

namespace {

const std::vector<std::string>& adam_buffers() {
  static const std::vector<std::string> names = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return names;
}

std::vector<bool> adam_used(const std::map<std::string, double>& h) {
  return {true, true, h.at("amsgrad") != 0};
}

/// One Adam/AdamW step of `p`. The per-step scalars are computed in double as PyTorch
/// computes them in Python, then rounded to float once.
void adam_step(const AdamOptions& o, bool decoupled, Var& p, Optimizer::ParamState& s, Tensor& m_t,
               Tensor& v_t, Tensor* vmax_t) {
  ++s.step;
  s.initialized = true;
  const double t = double(s.step);
  const double bc1 = 1 - std::pow(o.beta1, t), bc2 = 1 - std::pow(o.beta2, t);
  const float neg_step = float(-(o.lr / bc1)), bc2_sqrt = float(std::sqrt(bc2));
  const float b1 = float(o.beta1), b2 = float(o.beta2), c1 = float(1 - o.beta1),
              c2 = float(1 - o.beta2), eps = float(o.eps), sign = o.maximize ? -1.0f : 1.0f;
  const float l2 = decoupled ? 0.0f : float(o.weight_decay);
  const float shrink = decoupled ? float(1 - o.lr * o.weight_decay) : 1.0f;
  const float* gr = p.grad().data();
  float* w = p.mutable_value().data();
  float* m = m_t.data();
  float* v = v_t.data();
  float* vmax = vmax_t ? vmax_t->data() : nullptr;
  const std::size_t n = p.size();
  simd::loop(n, [&](std::size_t i, auto lanes) {
    using T = typename decltype(lanes)::type;
    T wi = simd::load<T>(w + i);
    T g = T(sign) * simd::load<T>(gr + i);
    if (l2 != 0) g = g + T(l2) * wi;
    if (decoupled) wi = wi * T(shrink);
    const T mi = simd::load<T>(m + i) * T(b1) + T(c1) * g;
    const T vi = simd::load<T>(v + i) * T(b2) + T(c2) * g * g;
    simd::store(m + i, mi);
    simd::store(v + i, vi);
    T vhat = vi;
    if (vmax) {
      vhat = simd::max(simd::load<T>(vmax + i), vi);
      simd::store(vmax + i, vhat);
    }
    const T denom = simd::sqrt(vhat) / T(bc2_sqrt) + T(eps);
    simd::store(w + i, wi + T(neg_step) * (mi / denom));
  });
}

}  // namespace

void AdamOptions::validate(const std::string& who) const {
  if (!(lr >= 0)) text::invalid_option(who, "lr", lr, "lr >= 0");
  if (!(eps >= 0)) text::invalid_option(who, "eps", eps, "eps >= 0");
  if (!(beta1 >= 0 && beta1 < 1)) text::invalid_option(who, "beta1", beta1, "0 <= beta1 < 1");
  if (!(beta2 >= 0 && beta2 < 1)) text::invalid_option(who, "beta2", beta2, "0 <= beta2 < 1");
  if (!(weight_decay >= 0))
    text::invalid_option(who, "weight_decay", weight_decay, "weight_decay >= 0");
}

Adam::Adam(std::vector<Var> params, Options options) {
  init({{std::move(params), options}});
}
Adam::Adam(std::vector<Group> groups) {
  init(std::move(groups));
}
const std::vector<std::string>& Adam::buffer_names() const {
  return adam_buffers();
}
std::vector<bool> Adam::buffers_used(const std::map<std::string, double>& h) const {
  return adam_used(h);
}
void Adam::update(std::size_t g, Var& p, ParamState& s) {
  const Options& o = options_[g];
  adam_step(o, false, p, s, slot(s, 0, p), slot(s, 1, p), o.amsgrad ? &slot(s, 2, p) : nullptr);
}

AdamW::AdamW(std::vector<Var> params, Options options) {
  init({{std::move(params), options}});
}
AdamW::AdamW(std::vector<Group> groups) {
  init(std::move(groups));
}
const std::vector<std::string>& AdamW::buffer_names() const {
  return adam_buffers();
}
std::vector<bool> AdamW::buffers_used(const std::map<std::string, double>& h) const {
  return adam_used(h);
}
void AdamW::update(std::size_t g, Var& p, ParamState& s) {
  const Options& o = options_[g];
  adam_step(o, true, p, s, slot(s, 0, p), slot(s, 1, p), o.amsgrad ? &slot(s, 2, p) : nullptr);
}

}  // namespace unroll::optim
