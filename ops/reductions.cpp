#include "ops/reductions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

// ---------------------------------------------------------------- shared helpers

namespace detail {

std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
  const auto r = static_cast<long>(rank);
  const long a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) +
                     " is out of range for a tensor of rank " + std::to_string(rank) +
                     (rank == 0 ? " (a scalar has no axes)"
                                : " (valid axes are " + std::to_string(-r) + ".." +
                                      std::to_string(r - 1) + ")"));
  return static_cast<std::size_t>(a);
}

AxisView axis_view(const Shape& shape, std::size_t axis) {
  AxisView v;
  for (std::size_t d = 0; d < axis; ++d) v.outer *= shape[d];
  v.n = shape[axis];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) v.inner *= shape[d];
  return v;
}

Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims) {
  Shape s = shape;
  if (keepdims)
    s[axis] = 1;
  else
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(axis));
  return s;
}

void exp_inplace(float* p, std::size_t n) {
  std::size_t i = 0;
#ifdef XTENSOR_USE_XSIMD
  using batch = xsimd::batch<float>;
  for (; i + batch::size <= n; i += batch::size)
    xsimd::exp(batch::load_unaligned(p + i)).store_unaligned(p + i);
#endif
  for (; i < n; ++i) p[i] = std::exp(p[i]);
}

float max_contiguous(const float* p, std::size_t n) {
  // Independent lanes and a select (not std::max) so the loop becomes vmaxps.
  constexpr std::size_t L = 16;
  float acc[L];
  std::fill(acc, acc + L, -std::numeric_limits<float>::infinity());
  std::size_t i = 0;
  for (; i + L <= n; i += L)
    for (std::size_t j = 0; j < L; ++j) acc[j] = p[i + j] > acc[j] ? p[i + j] : acc[j];
  float m = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) m = p[i] > m ? p[i] : m;
  for (float a : acc) m = a > m ? a : m;
  return m;
}

double sum_contiguous(const float* p, std::size_t n) {
  // Double keeps a million-element mean accurate to float precision.
  return sum_of(n, [p](std::size_t i) { return static_cast<double>(p[i]); });
}

}  // namespace detail

using detail::AxisView;

namespace {

// y[o, i] = sum_k x[o, k, i] for x viewed as [outer, n, inner].
void sum_axis(const float* x, float* y, const AxisView& v) {
  if (v.inner == 1) {
    for (std::size_t o = 0; o < v.outer; ++o)
      y[o] = static_cast<float>(detail::sum_contiguous(x + o * v.n, v.n));
    return;
  }
  for (std::size_t o = 0; o < v.outer; ++o) {
    float* yo = y + o * v.inner;
    const float* xo = x + o * v.n * v.inner;
    std::fill(yo, yo + v.inner, 0.0f);
    for (std::size_t k = 0; k < v.n; ++k) {
      const float* row = xo + k * v.inner;
      for (std::size_t i = 0; i < v.inner; ++i) yo[i] += row[i];
    }
  }
}

// Which axes a multi-axis reduction removes, validated once at record time.
struct AxesPlan {
  std::vector<bool> reduced;  // per input axis
  std::size_t count = 1;      // elements summed into each output element
  Shape keep_shape;           // input shape with reduced axes set to 1
  Shape out_shape;            // the op's output shape (keepdims or not)
};

AxesPlan plan_axes(const char* op, const Shape& shape, const std::vector<int>& axes,
                   bool keepdims) {
  if (axes.empty())
    throw ShapeError(std::string(op) +
                     ": empty axes list; pass axes to reduce, or call the overload without "
                     "axes to reduce every element");
  AxesPlan p;
  p.reduced.assign(shape.size(), false);
  for (int a : axes) {
    const std::size_t k = detail::normalize_axis(op, a, shape.size());
    if (p.reduced[k])
      throw ShapeError(std::string(op) + ": axis " + std::to_string(a) + " (axis " +
                       std::to_string(k) + " of shape " + shape_str(shape) +
                       ") appears more than once");
    p.reduced[k] = true;
  }
  p.keep_shape = shape;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!p.reduced[d]) {
      p.out_shape.push_back(shape[d]);
      continue;
    }
    p.count *= shape[d];
    p.keep_shape[d] = 1;
    if (keepdims) p.out_shape.push_back(1);
  }
  return p;
}

// Sum over the planned axes, one pass per run of adjacent reduced axes (a run is one
// [outer, n, inner] reduction), each pass on the already smaller result.
Tensor sum_planned(const Tensor& x, const AxesPlan& p) {
  Shape cur = shape_of(x);
  Tensor acc;  // result of the latest pass
  const float* src = x.data();
  std::size_t d = cur.size();
  while (d > 0) {
    if (!p.reduced[d - 1]) {
      --d;
      continue;
    }
    const std::size_t end = d;
    while (d > 0 && p.reduced[d - 1]) --d;
    AxisView v;
    for (std::size_t k = 0; k < d; ++k) v.outer *= cur[k];
    v.n = 1;
    for (std::size_t k = d; k < end; ++k) v.n *= cur[k], cur[k] = 1;
    for (std::size_t k = end; k < cur.size(); ++k) v.inner *= cur[k];
    Tensor next = xt::empty<float>(cur);
    sum_axis(src, next.data(), v);
    acc = std::move(next);
    src = acc.data();
  }
  acc.reshape(p.out_shape);
  return acc;
}

// out = beta * out + scale * g broadcast back over the reduced axes. g is laid out as the
// input shape with reduced axes of size 1. Adjacent axes of one kind are merged, so a
// typical last-axis or first-axis reduction is a single loop over rows.
void expand_into(const float* g, float* out, const Shape& in_shape,
                 const std::vector<bool>& reduced, float scale, float beta) {
  std::vector<std::size_t> ext, gstride;
  std::vector<bool> red;
  for (std::size_t d = 0; d < in_shape.size(); ++d) {
    if (in_shape[d] == 0) return;  // nothing to write
    if (in_shape[d] == 1) continue;
    if (!red.empty() && red.back() == reduced[d])
      ext.back() *= in_shape[d];
    else
      ext.push_back(in_shape[d]), red.push_back(reduced[d]);
  }
  if (ext.empty()) ext.push_back(1), red.push_back(true);
  const std::size_t D = ext.size();
  gstride.assign(D, 0);
  for (std::size_t d = D, s = 1; d-- > 0;)
    if (!red[d]) gstride[d] = s, s *= ext[d];

  const std::size_t last = ext[D - 1];
  const bool fill = red[D - 1];
  std::size_t rows = 1;
  for (std::size_t d = 0; d + 1 < D; ++d) rows *= ext[d];
  std::vector<std::size_t> idx(D, 0);
  std::size_t goff = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    float* o = out + r * last;
    const float* gp = g + goff;
    if (fill) {
      const float v = scale * gp[0];
      if (beta == 0.0f)
        std::fill(o, o + last, v);
      else
        for (std::size_t j = 0; j < last; ++j) o[j] += v;
    } else if (beta == 0.0f) {
      for (std::size_t j = 0; j < last; ++j) o[j] = scale * gp[j];
    } else {
      for (std::size_t j = 0; j < last; ++j) o[j] += scale * gp[j];
    }
    for (std::size_t d = D - 1; d-- > 0;) {  // odometer over all but the last merged axis
      goff += gstride[d];
      if (++idx[d] < ext[d]) break;
      goff -= gstride[d] * ext[d];
      idx[d] = 0;
    }
  }
}

Tensor scalar_tensor(float v) {
  Tensor t = xt::empty<float>(Shape{});
  t() = v;
  return t;
}

// Records a (scaled) sum of x over p's axes, whose value y is computed: backward spreads the
// output gradient back over the summed axes, reading only x's shape.
Var record_sum(const char* op, Tensor y, const Var& x, const AxesPlan& p, float scale) {
  return record(
      op, std::move(y), {x},
      [p, scale](const Node& n, GradSink& g) {
        float beta;
        Tensor& buf = g.buffer(0, beta);
        const auto& xs = n.inputs[0]->shape();  // the value itself may be released
        expand_into(n.grad.data(), buf.data(), Shape(xs.begin(), xs.end()), p.reduced, scale, beta);
      },
      autograd::kReadsNothing);
}

Var reduce_sum(const char* op, const Var& x, const AxesPlan& p, float scale) {
  Tensor y = sum_planned(x.value(), p);
  if (scale != 1.0f)
    for (float& e : y) e *= scale;
  return record_sum(op, std::move(y), x, p, scale);
}

AxesPlan all_axes_plan(const Shape& shape) {
  AxesPlan p;
  p.reduced.assign(shape.size(), true);
  p.count = numel(shape);
  p.keep_shape.assign(shape.size(), 1);
  return p;  // out_shape [] (a scalar)
}

Var reduce_all(const char* op, const Var& x, float scale) {
  const Tensor& xv = x.value();
  Tensor y = scalar_tensor(static_cast<float>(detail::sum_contiguous(xv.data(), xv.size()) *
                                              static_cast<double>(scale)));
  const AxesPlan p = all_axes_plan(x.shape());
  return record_sum(op, std::move(y), x, p, scale);
}

}  // namespace

// ---------------------------------------------------------------- sum / mean

Var sum(const Var& x) {
  return reduce_all("sum", x, 1.0f);
}

Var sum(const Var& x, std::vector<int> axes, bool keepdims) {
  return reduce_sum("sum", x, plan_axes("sum", x.shape(), axes, keepdims), 1.0f);
}

// mean of zero elements is 0/0 = NaN, as in PyTorch.
Var mean(const Var& x) {
  return reduce_all("mean", x, 1.0f / static_cast<float>(x.size()));
}

Var mean(const Var& x, std::vector<int> axes, bool keepdims) {
  const AxesPlan p = plan_axes("mean", x.shape(), axes, keepdims);
  return reduce_sum("mean", x, p, 1.0f / static_cast<float>(p.count));
}

// ---------------------------------------------------------------- max

MaxResult max(const Var& x, int axis, bool keepdims) {
  const Shape xs = x.shape();
  const std::size_t a = detail::normalize_axis("max", axis, xs.size());
  if (xs[a] == 0)
    throw ShapeError("max: cannot reduce over axis " + std::to_string(axis) + " of size 0 (shape " +
                     shape_str(xs) + ")");
  const AxisView v = detail::axis_view(xs, a);
  const Shape ys = detail::reduced_shape(xs, a, keepdims);
  Tensor y = xt::empty<float>(ys);
  IndexTensor idx = xt::empty<std::int64_t>(ys);
  const float* X = x.value().data();
  for (std::size_t o = 0; o < v.outer; ++o) {
    for (std::size_t i = 0; i < v.inner; ++i) {
      const float* p = X + o * v.n * v.inner + i;
      float best = p[0];
      std::size_t arg = 0;
      // Strict > keeps the first of equal maxima; a NaN is taken once and then kept.
      for (std::size_t k = 1; k < v.n && !std::isnan(best); ++k) {
        const float c = p[k * v.inner];
        if (c > best || std::isnan(c)) best = c, arg = k;
      }
      y.data()[o * v.inner + i] = best;
      idx.data()[o * v.inner + i] = static_cast<std::int64_t>(arg);
    }
  }
  Var values = record("max", std::move(y), {x}, [v, idx](const Node& n, GradSink& g) {
    float beta;
    Tensor& buf = g.buffer(0, beta);
    if (beta == 0.0f) std::fill(buf.data(), buf.data() + buf.size(), 0.0f);
    float* B = buf.data();
    const float* G = n.grad.data();
    for (std::size_t o = 0; o < v.outer; ++o)
      for (std::size_t i = 0; i < v.inner; ++i) {
        const std::size_t r = o * v.inner + i;
        B[(o * v.n + static_cast<std::size_t>(idx.data()[r])) * v.inner + i] += G[r];
      }
  });
  return {std::move(values), std::move(idx)};
}

Var max(const Var& x) {
  const Tensor& xv = x.value();
  if (xv.size() == 0)
    throw ShapeError("max: cannot take the max of an empty tensor (shape " + shape_str(xv) + ")");
  const float* X = xv.data();
  float best = X[0];
  for (std::size_t k = 1; k < xv.size() && !std::isnan(best); ++k)
    if (X[k] > best || std::isnan(X[k])) best = X[k];
  return record("max_all", scalar_tensor(best), {x}, [](const Node& n, GradSink& g) {
    const Tensor& in = n.inputs[0]->value;
    const float m = n.value();
    std::size_t ties = 0;
    for (float e : in) ties += (e == m || (std::isnan(m) && std::isnan(e)));
    const float share = n.grad() / static_cast<float>(ties);
    float beta;
    Tensor& buf = g.buffer(0, beta);
    float* B = buf.data();
    for (std::size_t k = 0; k < in.size(); ++k) {
      const float e = in.data()[k];
      const float d = (e == m || (std::isnan(m) && std::isnan(e))) ? share : 0.0f;
      B[k] = beta == 0.0f ? d : B[k] + d;
    }
  });
}

// ---------------------------------------------------------------- logsumexp

Var logsumexp(const Var& x, int axis, bool keepdims) {
  const Shape xs = x.shape();
  const std::size_t a = detail::normalize_axis("logsumexp", axis, xs.size());
  const AxisView v = detail::axis_view(xs, a);
  Tensor y = xt::empty<float>(detail::reduced_shape(xs, a, keepdims));
  const float* X = x.value().data();
  float* Y = y.data();
  const std::size_t slab = v.n * v.inner;
  std::vector<float> m(v.inner), s(v.inner), e(slab);
  // Shift m and log-sum ls per output, kept apart for backward: y = m + ls loses ls once
  // |m| >~ 1e8 (1e30 + ln 3 == 1e30 in float), and exp(x - y) would then be 1, not softmax.
  std::vector<float> shift(y.size()), logsum(y.size());
  for (std::size_t o = 0; o < v.outer; ++o) {
    const float* xo = X + o * slab;
    if (v.inner == 1) {
      m[0] = detail::max_contiguous(xo, v.n);
    } else {
      std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
      for (std::size_t k = 0; k < v.n; ++k)
        for (std::size_t i = 0; i < v.inner; ++i)
          m[i] = xo[k * v.inner + i] > m[i] ? xo[k * v.inner + i] : m[i];
    }
    // An all -inf (or empty) slice has no finite shift: use 0 so the result is -inf, not NaN.
    for (float& mi : m)
      if (!std::isfinite(mi)) mi = 0.0f;
    for (std::size_t k = 0; k < v.n; ++k)
      for (std::size_t i = 0; i < v.inner; ++i) e[k * v.inner + i] = xo[k * v.inner + i] - m[i];
    detail::exp_inplace(e.data(), slab);
    if (v.inner == 1) {
      shift[o] = m[0];
      logsum[o] = static_cast<float>(std::log(detail::sum_contiguous(e.data(), v.n)));
      Y[o] = m[0] + logsum[o];
      continue;
    }
    std::fill(s.begin(), s.end(), 0.0f);
    for (std::size_t k = 0; k < v.n; ++k)
      for (std::size_t i = 0; i < v.inner; ++i) s[i] += e[k * v.inner + i];
    for (std::size_t i = 0; i < v.inner; ++i) {
      shift[o * v.inner + i] = m[i];
      logsum[o * v.inner + i] = std::log(s[i]);
      Y[o * v.inner + i] = m[i] + logsum[o * v.inner + i];
    }
  }
  return record(
      "logsumexp", std::move(y), {x},
      [v, shift = std::move(shift), logsum = std::move(logsum)](const Node& n, GradSink& g) {
        // dx[o, k, i] = g[o, i] * exp((x[o, k, i] - m[o, i]) - ls[o, i]) = g * softmax
        const std::size_t slab = v.n * v.inner;
        const float* Xv = n.inputs[0]->value.data();
        const float* G = n.grad.data();
        float beta;
        float* B = g.buffer(0, beta).data();
        std::vector<float> scratch(beta == 0.0f ? 0 : slab);
        for (std::size_t o = 0; o < v.outer; ++o) {
          float* d = beta == 0.0f ? B + o * slab : scratch.data();
          const float* xo = Xv + o * slab;
          const float* mo = shift.data() + o * v.inner;
          const float* lo = logsum.data() + o * v.inner;
          const float* go = G + o * v.inner;
          for (std::size_t k = 0; k < v.n; ++k)
            for (std::size_t i = 0; i < v.inner; ++i)
              d[k * v.inner + i] = (xo[k * v.inner + i] - mo[i]) - lo[i];
          detail::exp_inplace(d, slab);
          for (std::size_t k = 0; k < v.n; ++k)
            for (std::size_t i = 0; i < v.inner; ++i) d[k * v.inner + i] *= go[i];
          if (beta != 0.0f)
            for (std::size_t j = 0; j < slab; ++j) B[o * slab + j] += d[j];
        }
      });
}

}  // namespace unroll::ops
