#include "ops/indexing.hpp"

#include <algorithm>
#include <string>

#include <xtensor/xoperation.hpp>

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {

template <class T>
Shape shape_of_any(const T& t) {
  return Shape(t.shape().begin(), t.shape().end());
}

std::size_t norm_axis(const char* op, int axis, const Shape& shape) {
  const auto r = static_cast<std::ptrdiff_t>(shape.size());
  if (axis < -r || axis >= r)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) +
                     " is out of range for input shape " + shape_str(shape) + " (expected " +
                     (r ? std::to_string(-r) + ".." + std::to_string(r - 1)
                        : std::string("none: it has no axes")) +
                     ")");
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// Multi-index of flat position p in a row-major shape, for error messages.
std::string position(std::size_t p, const Shape& s) {
  Shape idx(s.size());
  for (std::size_t k = s.size(); k-- > 0;) {
    idx[k] = p % s[k];
    p /= s[k];
  }
  return shape_str(idx);
}

void check_index(const char* op, std::int64_t v, std::size_t p, const Shape& index_shape,
                 std::size_t limit, const std::string& what) {
  if (v < 0 || static_cast<std::uint64_t>(v) >= limit)
    throw ShapeError(std::string(op) + ": index " + std::to_string(v) + " at position " +
                     position(p, index_shape) + " is out of range for " + what + " of size " +
                     std::to_string(limit));
}

void add_run(float* dst, const float* src, std::size_t len) {
  for (std::size_t j = 0; j < len; ++j) dst[j] += src[j];
}

// The gradient buffer of input i, zeroed if fresh: scatter ops add only where they read.
float* zeroed_buffer(GradSink& g, std::size_t i) {
  float beta;
  Tensor& buf = g.buffer(i, beta);
  if (beta == 0.0f) std::fill(buf.data(), buf.data() + buf.size(), 0.0f);
  return buf.data();
}

}  // namespace

Var index_select(const Var& x, int axis, const IndexTensor& index) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("index_select", axis, s);
  const Shape is = shape_of_any(index);
  if (is.size() != 1)
    throw ShapeError("index_select: index must be 1-D, got shape " + shape_str(is) + " (input " +
                     shape_str(s) + ")");
  const std::size_t m = index.size();
  for (std::size_t k = 0; k < m; ++k)
    check_index("index_select", index(k), k, is, s[a],
                "axis " + std::to_string(axis) + " of input " + shape_str(s));
  std::size_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < a; ++i) outer *= s[i];
  for (std::size_t i = a + 1; i < s.size(); ++i) inner *= s[i];
  const std::size_t n = s[a];
  std::vector<std::size_t> rows(index.begin(), index.end());
  Shape out = s;
  out[a] = m;
  Tensor y = Tensor::from_shape(out);
  const float* X = x.value().data();
  float* Y = y.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t k = 0; k < m; ++k) {
      const float* src = X + (o * n + rows[k]) * inner;
      std::copy(src, src + inner, Y + (o * m + k) * inner);
    }
  return record(
      "index_select", std::move(y), {x},
      [rows = std::move(rows), outer, n, inner](const Node& nd, GradSink& g) {
        if (!g.needs(0)) return;
        float* B = zeroed_buffer(g, 0);
        const float* G = nd.grad.data();
        const std::size_t m = rows.size();
        for (std::size_t o = 0; o < outer; ++o)
          for (std::size_t k = 0; k < m; ++k)
            add_run(B + (o * n + rows[k]) * inner, G + (o * m + k) * inner, inner);
      },
      autograd::kReadsNothing);
}

Var gather(const Var& x, int axis, const IndexTensor& index) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("gather", axis, s);
  const Shape is = shape_of_any(index);
  bool ok = is.size() == s.size();
  for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == a || is[d] <= s[d];
  if (!ok)
    throw ShapeError("gather: index shape " + shape_str(is) + " must have the rank of input " +
                     shape_str(s) + " and dims no larger than its dims off axis " +
                     std::to_string(axis));
  const std::size_t r = s.size();
  std::vector<std::size_t> stride(r, 1);
  for (std::size_t d = r - 1; d-- > 0;) stride[d] = stride[d + 1] * s[d + 1];
  // Source offset of every output element, walked with an odometer over the index shape;
  // kept for backward, which scatters to the same offsets.
  std::vector<std::size_t> offsets(index.size());
  std::vector<std::size_t> idx(r, 0);
  std::size_t base = 0;  // offset of idx with the gathered axis at 0
  const std::int64_t* I = index.data();
  for (std::size_t p = 0; p < offsets.size(); ++p) {
    check_index("gather", I[p], p, is, s[a],
                "axis " + std::to_string(axis) + " of input " + shape_str(s));
    offsets[p] = base + static_cast<std::size_t>(I[p]) * stride[a];
    for (std::size_t d = r; d-- > 0;) {
      const std::size_t step = d == a ? 0 : stride[d];
      base += step;
      if (++idx[d] < is[d]) break;
      base -= step * idx[d];
      idx[d] = 0;
    }
  }
  Tensor y = Tensor::from_shape(is);
  const float* X = x.value().data();
  float* Y = y.data();
  for (std::size_t p = 0; p < offsets.size(); ++p) Y[p] = X[offsets[p]];
  return record(
      "gather", std::move(y), {x},
      [offsets = std::move(offsets)](const Node& n, GradSink& g) {
        if (!g.needs(0)) return;
        float* B = zeroed_buffer(g, 0);
        const float* G = n.grad.data();
        for (std::size_t p = 0; p < offsets.size(); ++p) B[offsets[p]] += G[p];
      },
      autograd::kReadsNothing);
}

Var embedding(const IndexTensor& ids, const Var& weight, std::int64_t padding_idx) {
  if (weight.ndim() != 2)
    throw ShapeError("embedding: weight must be 2-D [num_embeddings, dim], got " +
                     shape_str(weight.value()));
  const std::size_t num = weight.dim(0), dim = weight.dim(1);
  if (padding_idx >= 0 && static_cast<std::uint64_t>(padding_idx) >= num)
    throw ShapeError("embedding: padding_idx " + std::to_string(padding_idx) +
                     " is out of range for num_embeddings " + std::to_string(num));
  const Shape is = shape_of_any(ids);
  const std::int64_t* I = ids.data();
  for (std::size_t p = 0; p < ids.size(); ++p)
    if (I[p] < 0 || static_cast<std::uint64_t>(I[p]) >= num)
      throw ShapeError("embedding: id " + std::to_string(I[p]) + " at position " + position(p, is) +
                       " is out of range for num_embeddings " + std::to_string(num) + " (weight " +
                       shape_str(weight.value()) + ")");
  Shape out = is;
  out.push_back(dim);
  Tensor y = Tensor::from_shape(out);
  const float* W = weight.value().data();
  float* Y = y.data();
  for (std::size_t p = 0; p < ids.size(); ++p)
    std::copy(W + I[p] * dim, W + (I[p] + 1) * dim, Y + p * dim);
  return record(
      "embedding", std::move(y), {weight},
      [ids, dim, padding_idx](const Node& n, GradSink& g) {
        if (!g.needs(0)) return;
        float* B = zeroed_buffer(g, 0);
        const float* G = n.grad.data();
        const std::int64_t* I = ids.data();
        for (std::size_t p = 0; p < ids.size(); ++p)
          if (I[p] != padding_idx) add_run(B + I[p] * dim, G + p * dim, dim);
      },
      autograd::kReadsNothing);
}

Var masked_fill(const Var& x, const BoolTensor& mask, float value) {
  const Shape s = x.shape(), ms = shape_of_any(mask);
  if (ms != s && autograd::broadcast_shapes("masked_fill", ms, s) != s)
    throw ShapeError("masked_fill: mask " + shape_str(ms) + " must broadcast to the input " +
                     shape_str(s) + " without enlarging it");
  Tensor y = xt::where(mask, value, x.value());
  return record(
      "masked_fill", std::move(y), {x},
      [mask](const Node& n, GradSink& g) {
        if (g.needs(0)) g.add(0, xt::where(mask, 0.0f, n.grad));
      },
      autograd::kReadsNothing);
}

Var where(const BoolTensor& cond, const Var& a, const Var& b) {
  const Shape cs = shape_of_any(cond);
  autograd::broadcast_shapes("where", autograd::broadcast_shapes("where", cs, a.shape()),
                             b.shape());
  Tensor y = xt::where(cond, a.value(), b.value());
  // Each gradient has the output shape; the tape reduces it to a's or b's.
  return record(
      "where", std::move(y), {a, b},
      [cond](const Node& n, GradSink& g) {
        if (g.needs(0)) g.add(0, xt::where(cond, n.grad, 0.0f));
        if (g.needs(1)) g.add(1, xt::where(cond, 0.0f, n.grad));
      },
      autograd::kReadsNothing);
}

}  // namespace unroll::ops
