#include "autograd/gradcheck.hpp"

#include <cmath>
#include <cstdio>
#include <random>

#include "autograd/tape.hpp"

namespace unroll::autograd {

namespace {

std::vector<std::size_t> unravel(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t k = shape.size(); k-- > 0;) {
    idx[k] = flat % shape[k];
    flat /= shape[k];
  }
  return idx;
}

// The loss is summed in double: float rounding in the sum would otherwise dominate the
// finite difference and hide (or fake) small gradient errors.
double weighted_sum(const Tensor& out, const std::vector<double>& seed) {
  double s = 0;
  const float* p = out.data();
  for (std::size_t i = 0; i < seed.size(); ++i) s += static_cast<double>(p[i]) * seed[i];
  return s;
}

}  // namespace

std::string GradCheckResult::report() const {
  std::string idx = "[";
  for (std::size_t i = 0; i < index.size(); ++i) idx += (i ? ", " : "") + std::to_string(index[i]);
  idx += "]";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "gradcheck %s: %zu elements; worst %s (shape %s) element %s: analytic %.7g, "
                "numeric %.7g, |diff| %.3g %s tolerance %.3g",
                ok ? "passed" : "FAILED", checked, where.empty() ? "-" : where.c_str(),
                shape_str(shape).c_str(), idx.c_str(), analytic, numeric, error, ok ? "<=" : ">",
                tolerance);
  return buf;
}

GradCheckResult gradcheck(const GradCheckFn& f, const std::vector<Tensor>& inputs,
                          const std::vector<Var>& params, const GradCheckOptions& options) {
  NamedVars named;
  for (std::size_t i = 0; i < params.size(); ++i) named.emplace_back(std::to_string(i), params[i]);
  return gradcheck(f, inputs, named, options);
}

GradCheckResult gradcheck(const GradCheckFn& f, const std::vector<Tensor>& inputs,
                          const NamedVars& params, const GradCheckOptions& options) {
  Tape tape;
  TapeScope scope(tape);

  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.emplace_back(t, true);
  for (auto& [name, p] : params) p.zero_grad();

  // Analytic gradients: one backward with a random upstream gradient.
  Var out = f(vars);
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> seed(out.size());
  Tensor seed_t = xt::empty<float>(out.value().shape());
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed_t.data()[i] = static_cast<float>(dist(rng));
    seed[i] = seed_t.data()[i];
  }
  if (out.requires_grad()) backward(out, seed_t);

  struct Target {
    std::string name;
    Var var;
    Tensor analytic;
  };
  std::vector<Target> targets;
  for (std::size_t i = 0; i < vars.size(); ++i)
    targets.push_back({"input " + std::to_string(i), vars[i], vars[i].grad()});
  for (auto& [name, p] : params) targets.push_back({"parameter " + name, p, p.grad()});
  tape.clear();

  auto loss = [&] {
    NoGradGuard no_grad;
    return weighted_sum(f(vars).value(), seed);
  };

  GradCheckResult result;
  double worst_ratio = -1;
  for (Target& t : targets) {
    Tensor& x = t.var.mutable_value();
    const Shape shape = shape_of(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float orig = x.data()[i];
      // Central difference over the step actually representable in float.
      auto central = [&](double h) {
        const float hi = static_cast<float>(orig + h), lo = static_cast<float>(orig - h);
        x.data()[i] = hi;
        const double lp = loss();
        x.data()[i] = lo;
        const double lm = loss();
        x.data()[i] = orig;
        return (lp - lm) / (static_cast<double>(hi) - static_cast<double>(lo));
      };
      // Richardson extrapolation of two central differences cancels the h^2 error term, so
      // a step large enough to rise above float32 rounding noise stays accurate. The two
      // estimates' disagreement bounds the numeric error (rounding noise in a float32 loss
      // that sums many terms), and widens that element's tolerance by as much.
      const double d_full = central(options.eps), d_half = central(options.eps / 2);
      const double numeric = (4.0 * d_half - d_full) / 3.0;
      const double numeric_error = std::abs(d_half - d_full);
      const double analytic = t.analytic.data()[i];
      const double err = std::abs(analytic - numeric);
      const double tol = options.atol + options.rtol * std::abs(numeric) + numeric_error;
      const double ratio = err / tol;
      ++result.checked;
      if (ratio > worst_ratio) {
        worst_ratio = ratio;
        result.where = t.name;
        result.shape = shape;
        result.index = unravel(i, shape);
        result.analytic = analytic;
        result.numeric = numeric;
        result.error = err;
        result.tolerance = tol;
      }
    }
  }
  result.ok = worst_ratio <= 1.0;
  for (auto& [name, p] : params) p.zero_grad();
  return result;
}

}  // namespace unroll::autograd
