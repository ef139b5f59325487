#include "ops/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/tape.hpp"
#include "ops/reductions.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;
using detail::AxisView;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// out[o, k, i] = x[o, k, i] - max_k x[o, k, i] over one slab of [n, inner]. `m` gets the
// per-column maxima. Rows (inner == 1) are the fast path: classes last.
void shift_by_max(const float* x, float* out, std::size_t n, std::size_t inner, float* m) {
  if (inner == 1) {
    // All -inf: no finite shift; leave it to produce NaN as PyTorch does.
    const float mx = detail::max_contiguous(x, n);
    m[0] = mx;
    for (std::size_t k = 0; k < n; ++k) out[k] = x[k] - mx;
    return;
  }
  std::fill(m, m + inner, kNegInf);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < inner; ++i)
      m[i] = x[k * inner + i] > m[i] ? x[k * inner + i] : m[i];
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < inner; ++i) out[k * inner + i] = x[k * inner + i] - m[i];
}

// s[i] = sum_k p[k, i] over a slab [n, inner].
void column_sums(const float* p, std::size_t n, std::size_t inner, float* s) {
  if (inner == 1) {
    s[0] = static_cast<float>(detail::sum_contiguous(p, n));
    return;
  }
  std::fill(s, s + inner, 0.0f);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < inner; ++i) s[i] += p[k * inner + i];
}

// s[i] = sum_k a[k, i] * b[k, i] over a slab [n, inner].
void column_dots(const float* a, const float* b, std::size_t n, std::size_t inner, float* s) {
  if (inner == 1) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t k = 0;
    for (; k + 8 <= n; k += 8)
      for (std::size_t j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
    float t = 0;
    for (; k < n; ++k) t += a[k] * b[k];
    s[0] = t + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return;
  }
  std::fill(s, s + inner, 0.0f);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < inner; ++i) s[i] += a[k * inner + i] * b[k * inner + i];
}

AxisView view_for(const char* op, const Var& x, int axis) {
  const Shape xs = x.shape();
  return detail::axis_view(xs, detail::normalize_axis(op, axis, xs.size()));
}

// out[j] = f(j) (beta == 0: out is uninitialised) or out[j] += f(j), j < n. The branch is
// outside the loop so each loop vectorises.
template <class F>
void emit(float* out, std::size_t n, float beta, F f) {
  if (beta == 0.0f)
    for (std::size_t j = 0; j < n; ++j) out[j] = f(j);
  else
    for (std::size_t j = 0; j < n; ++j) out[j] += f(j);
}

// Same over a slab [n, inner] with a per-column value: out[k, i] (+)= f(k * inner + i, i).
template <class F>
void emit_columns(float* out, std::size_t n, std::size_t inner, float beta, F f) {
  for (std::size_t k = 0; k < n; ++k) {
    float* row = out + k * inner;
    const std::size_t base = k * inner;
    if (beta == 0.0f)
      for (std::size_t i = 0; i < inner; ++i) row[i] = f(base + i, i);
    else
      for (std::size_t i = 0; i < inner; ++i) row[i] += f(base + i, i);
  }
}

}  // namespace

Var softmax(const Var& x, int axis) {
  const AxisView v = view_for("softmax", x, axis);
  const std::size_t slab = v.n * v.inner;
  Tensor y = xt::empty<float>(x.shape());
  const float* X = x.value().data();
  float* Y = y.data();
  std::vector<float> col(v.inner);
  for (std::size_t o = 0; o < v.outer; ++o)
    shift_by_max(X + o * slab, Y + o * slab, v.n, v.inner, col.data());
  detail::exp_inplace(Y, y.size());  // one SIMD pass over the whole tensor
  for (std::size_t o = 0; o < v.outer; ++o) {
    float* yo = Y + o * slab;
    if (v.inner == 1) {
      const float inv = static_cast<float>(1.0 / detail::sum_contiguous(yo, v.n));
      for (std::size_t k = 0; k < v.n; ++k) yo[k] *= inv;
      continue;
    }
    column_sums(yo, v.n, v.inner, col.data());
    for (float& c : col) c = 1.0f / c;
    for (std::size_t k = 0; k < v.n; ++k)
      for (std::size_t i = 0; i < v.inner; ++i) yo[k * v.inner + i] *= col[i];
  }
  return record(
      "softmax", std::move(y), {x},
      [v](const Node& n, GradSink& g) {
        // dx = y * (g - sum_a(g * y))
        const std::size_t slab = v.n * v.inner;
        const float* Yv = n.value.data();
        const float* G = n.grad.data();
        float beta;
        float* B = g.buffer(0, beta).data();
        std::vector<float> dot(v.inner);
        for (std::size_t o = 0; o < v.outer; ++o) {
          const float* yo = Yv + o * slab;
          const float* go = G + o * slab;
          column_dots(go, yo, v.n, v.inner, dot.data());
          if (v.inner == 1) {
            const float d = dot[0];
            emit(B + o * slab, v.n, beta, [=](std::size_t k) { return yo[k] * (go[k] - d); });
          } else {
            const float* dp = dot.data();
            emit_columns(B + o * slab, v.n, v.inner, beta,
                         [=](std::size_t j, std::size_t i) { return yo[j] * (go[j] - dp[i]); });
          }
        }
      },
      autograd::kReadsOutput);
}

Var log_softmax(const Var& x, int axis) {
  const AxisView v = view_for("log_softmax", x, axis);
  const std::size_t slab = v.n * v.inner;
  Tensor y = xt::empty<float>(x.shape());
  const float* X = x.value().data();
  float* Y = y.data();
  std::vector<float> col(v.inner), e(slab);
  for (std::size_t o = 0; o < v.outer; ++o) {
    float* yo = Y + o * slab;
    shift_by_max(X + o * slab, yo, v.n, v.inner, col.data());
    std::copy(yo, yo + slab, e.data());
    detail::exp_inplace(e.data(), slab);
    if (v.inner == 1) {
      const float l = static_cast<float>(std::log(detail::sum_contiguous(e.data(), v.n)));
      for (std::size_t k = 0; k < v.n; ++k) yo[k] -= l;
      continue;
    }
    column_sums(e.data(), v.n, v.inner, col.data());
    for (float& c : col) c = std::log(c);
    for (std::size_t k = 0; k < v.n; ++k)
      for (std::size_t i = 0; i < v.inner; ++i) yo[k * v.inner + i] -= col[i];
  }
  return record(
      "log_softmax", std::move(y), {x},
      [v](const Node& n, GradSink& g) {
        // dx = g - softmax * sum_a(g), softmax = exp(y)
        const std::size_t slab = v.n * v.inner;
        const float* Yv = n.value.data();
        const float* G = n.grad.data();
        float beta;
        float* B = g.buffer(0, beta).data();
        std::vector<float> sum_g(v.inner), p(slab);
        for (std::size_t o = 0; o < v.outer; ++o) {
          const float* yo = Yv + o * slab;
          const float* go = G + o * slab;
          const float* pp = p.data();
          column_sums(go, v.n, v.inner, sum_g.data());
          std::copy(yo, yo + slab, p.data());
          detail::exp_inplace(p.data(), slab);
          if (v.inner == 1) {
            const float sg = sum_g[0];
            emit(B + o * slab, v.n, beta, [=](std::size_t k) { return go[k] - pp[k] * sg; });
          } else {
            const float* sp = sum_g.data();
            emit_columns(B + o * slab, v.n, v.inner, beta,
                         [=](std::size_t j, std::size_t i) { return go[j] - pp[j] * sp[i]; });
          }
        }
      },
      autograd::kReadsOutput);
}

}  // namespace unroll::ops
