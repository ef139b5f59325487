#include "ops/losses.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "autograd/tape.hpp"
#include "ops/reductions.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {

Tensor scalar_tensor(float v) {
  Tensor t = xt::empty<float>(Shape{});
  t() = v;
  return t;
}

// Per-element losses combined as the reduction asks.
Tensor reduce_loss(Tensor&& l, Reduction r) {
  if (r == Reduction::None) return std::move(l);
  const double s = detail::sum_contiguous(l.data(), l.size());
  // Mean of zero elements is 0/0 = NaN, as in PyTorch.
  return scalar_tensor(static_cast<float>(r == Reduction::Sum ? s : s / double(l.size())));
}

// Upstream gradient of a reduced loss as a per-element factor: g / N (Mean) or g (Sum).
float reduced_scale(const Node& n, Reduction r, std::size_t count) {
  const float g = n.grad.data()[0];
  return r == Reduction::Mean ? g / static_cast<float>(count) : g;
}

void check_same_shape(const char* op, const Var& input, const Var& target) {
  if (input.value().shape() != target.value().shape())
    throw ShapeError(std::string(op) + ": target has shape " + shape_str(target.value()) +
                     ", expected the input's shape " + shape_str(input.value()) +
                     " (no broadcasting)");
}

std::string position_str(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(Shape(idx.begin(), idx.end()));
}

// Scores [..., C] against class targets [...]: the layout both class losses share.
struct ClassLayout {
  std::size_t rows = 0, C = 0;
  std::size_t count = 0;  // targets not equal to ignore_index
};

ClassLayout check_class_target(const char* op, const char* what, const Tensor& scores,
                               const IndexTensor& target, std::int64_t ignore_index) {
  const Shape ss = shape_of(scores);
  const Shape ts(target.shape().begin(), target.shape().end());
  if (ss.empty())
    throw ShapeError(std::string(op) + ": " + what +
                     " must have at least one axis (classes last), got shape []");
  const Shape expected(ss.begin(), ss.end() - 1);
  if (ts != expected)
    throw ShapeError(std::string(op) + ": target has shape " + shape_str(ts) + ", expected " +
                     shape_str(expected) + " (" + what + " " + shape_str(ss) +
                     " with the classes on the last axis)");
  ClassLayout c;
  c.C = ss.back();
  c.rows = target.size();
  const auto C = static_cast<std::int64_t>(c.C);
  for (std::size_t r = 0; r < c.rows; ++r) {
    const std::int64_t t = target.data()[r];
    if (t == ignore_index) continue;
    if (t < 0 || t >= C)
      throw ShapeError(std::string(op) + ": target index " + std::to_string(t) + " at position " +
                       position_str(r, ts) + " is out of range for C = " + std::to_string(c.C) +
                       " classes (" + what + " " + shape_str(ss) + "); expected 0.." +
                       std::to_string(C - 1) + " or ignore_index " + std::to_string(ignore_index));
    ++c.count;
  }
  return c;
}

// Per-row gradient weight of a class loss: 0 for ignored rows, g[r] (None), g/count (Mean)
// or g (Sum). A Mean over zero counted targets has weight 0 (see losses.hpp).
std::vector<float> row_weights(const Node& n, Reduction r, const ClassLayout& c,
                               const IndexTensor& target, std::int64_t ignore_index) {
  std::vector<float> w(c.rows, 0.0f);
  const float s = r == Reduction::None ? 0.0f : c.count == 0 ? 0.0f : reduced_scale(n, r, c.count);
  for (std::size_t i = 0; i < c.rows; ++i)
    if (target.data()[i] != ignore_index) w[i] = r == Reduction::None ? n.grad.data()[i] : s;
  return w;
}

// Combine per-row losses (ignored rows already 0) per the reduction.
Tensor reduce_class_loss(Tensor&& l, Reduction r, std::size_t count) {
  if (r != Reduction::Mean) return reduce_loss(std::move(l), r);
  const double s = detail::sum_contiguous(l.data(), l.size());
  return scalar_tensor(count == 0 ? 0.0f : static_cast<float>(s / double(count)));
}

}  // namespace

// ---------------------------------------------------------------- class-index losses

Var cross_entropy(const Var& logits, const IndexTensor& target, Reduction r,
                  std::int64_t ignore_index) {
  const Tensor& z = logits.value();
  const ClassLayout c = check_class_target("cross_entropy", "logits", z, target, ignore_index);
  const Shape ts(target.shape().begin(), target.shape().end());
  Tensor l = xt::zeros<float>(ts);
  // logsumexp = m + ls with m the row max and ls = log sum exp(z - m), kept apart: at
  // |z| ~ 1e8 and beyond, m + ls rounds ls away (1e30 + ln 3 == 1e30 in float), which made
  // an all-equal row's loss 0 instead of ln C and its softmax 1 everywhere.
  std::vector<float> mx(c.rows, 0.0f), ls(c.rows, 0.0f), e(c.C);
  for (std::size_t i = 0; i < c.rows; ++i) {
    const std::int64_t t = target.data()[i];
    if (t == ignore_index) continue;
    const float* row = z.data() + i * c.C;
    const float m = detail::max_contiguous(row, c.C);
    for (std::size_t k = 0; k < c.C; ++k) e[k] = row[k] - m;
    detail::exp_inplace(e.data(), c.C);
    mx[i] = m;
    ls[i] = static_cast<float>(std::log(detail::sum_contiguous(e.data(), c.C)));
    l.data()[i] = (m - row[t]) + ls[i];
  }
  return record(
      "cross_entropy", reduce_class_loss(std::move(l), r, c.count), {logits},
      [c, r, target, ignore_index, mx = std::move(mx), ls = std::move(ls)](const Node& n,
                                                                           GradSink& g) {
        // dz = (softmax(z) - onehot(t)) * w, softmax recomputed from the saved m, ls.
        const std::vector<float> w = row_weights(n, r, c, target, ignore_index);
        const float* Z = n.inputs[0]->value.data();
        float beta;
        float* B = g.buffer(0, beta).data();
        std::vector<float> scratch(beta == 0.0f ? 0 : c.C);
        for (std::size_t i = 0; i < c.rows; ++i) {
          float* out = B + i * c.C;
          const std::int64_t t = target.data()[i];
          if (t == ignore_index) {
            if (beta == 0.0f) std::fill(out, out + c.C, 0.0f);
            continue;
          }
          float* d = beta == 0.0f ? out : scratch.data();
          const float* row = Z + i * c.C;
          for (std::size_t k = 0; k < c.C; ++k) d[k] = (row[k] - mx[i]) - ls[i];
          detail::exp_inplace(d, c.C);
          for (std::size_t k = 0; k < c.C; ++k) d[k] *= w[i];
          d[t] -= w[i];
          if (beta != 0.0f)
            for (std::size_t k = 0; k < c.C; ++k) out[k] += d[k];
        }
      },
      autograd::kReadsFirstInput);
}

Var nll_loss(const Var& log_probs, const IndexTensor& target, Reduction r,
             std::int64_t ignore_index) {
  const Tensor& lp = log_probs.value();
  const ClassLayout c = check_class_target("nll_loss", "log_probs", lp, target, ignore_index);
  const Shape ts(target.shape().begin(), target.shape().end());
  Tensor l = xt::zeros<float>(ts);
  for (std::size_t i = 0; i < c.rows; ++i) {
    const std::int64_t t = target.data()[i];
    if (t != ignore_index) l.data()[i] = -lp.data()[i * c.C + static_cast<std::size_t>(t)];
  }
  return record("nll_loss", reduce_class_loss(std::move(l), r, c.count), {log_probs},
                [c, r, target, ignore_index](const Node& n, GradSink& g) {
                  const std::vector<float> w = row_weights(n, r, c, target, ignore_index);
                  float beta;
                  Tensor& buf = g.buffer(0, beta);
                  float* B = buf.data();
                  if (beta == 0.0f) std::fill(B, B + buf.size(), 0.0f);
                  for (std::size_t i = 0; i < c.rows; ++i) {
                    const std::int64_t t = target.data()[i];
                    if (t != ignore_index) B[i * c.C + static_cast<std::size_t>(t)] -= w[i];
                  }
                });
}

// ---------------------------------------------------------------- element-wise losses

Var mse_loss(const Var& input, const Var& target, Reduction r) {
  check_same_shape("mse_loss", input, target);
  const std::size_t N = input.size();
  Tensor l = xt::square(input.value() - target.value());
  return record("mse_loss", reduce_loss(std::move(l), r), {input, target},
                [r, N](const Node& n, GradSink& g) {
                  const Tensor& x = n.inputs[0]->value;
                  const Tensor& t = n.inputs[1]->value;
                  Tensor d = r == Reduction::None
                                 ? Tensor(2.0f * n.grad * (x - t))
                                 : Tensor((2.0f * reduced_scale(n, r, N)) * (x - t));
                  if (g.needs(1)) g.add(1, -d);
                  g.add(0, std::move(d));
                });
}

Var binary_cross_entropy_with_logits(const Var& logits, const Var& target, Reduction r) {
  check_same_shape("binary_cross_entropy_with_logits", logits, target);
  const std::size_t N = logits.size();
  const Tensor& x = logits.value();
  Tensor l = xt::maximum(x, 0.0f) - x * target.value() + xt::log1p(xt::exp(-xt::abs(x)));
  return record("binary_cross_entropy_with_logits", reduce_loss(std::move(l), r), {logits, target},
                [r, N](const Node& n, GradSink& g) {
                  const Tensor& xv = n.inputs[0]->value;
                  const Tensor& tv = n.inputs[1]->value;
                  const bool none = r == Reduction::None;
                  const float s = none ? 0.0f : reduced_scale(n, r, N);
                  if (g.needs(0)) {
                    // sigmoid without overflow: e = exp(-|x|) <= 1 on both branches.
                    const Tensor e = xt::exp(-xt::abs(xv));
                    Tensor sig = xt::where(xv >= 0.0f, 1.0f / (1.0f + e), e / (1.0f + e));
                    if (none)
                      g.add(0, n.grad * (sig - tv));
                    else
                      g.add(0, s * (sig - tv));
                  }
                  if (g.needs(1)) {  // d/dt = -x
                    if (none)
                      g.add(1, -n.grad * xv);
                    else
                      g.add(1, -s * xv);
                  }
                });
}

}  // namespace unroll::ops
