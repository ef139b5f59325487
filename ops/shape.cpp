#include "ops/shape.hpp"

#include <algorithm>
#include <string>

#include <xtensor/xbroadcast.hpp>

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {

std::string str(std::ptrdiff_t v) {
  return std::to_string(v);
}

std::size_t norm_axis(const char* op, int axis, std::size_t rank, const Shape& shape) {
  const auto r = static_cast<std::ptrdiff_t>(rank);
  if (axis < -r || axis >= r)
    throw ShapeError(std::string(op) + ": axis " + str(axis) + " is out of range for input shape " +
                     shape_str(shape) + " (expected " +
                     (r ? str(-r) + ".." + str(r - 1) : std::string("none: it has no axes")) + ")");
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// A tensor seen as [outer, n, inner] around `axis`: every op that takes or joins parts
// along one axis moves contiguous runs of n*inner or inner floats.
struct Around {
  std::size_t outer = 1, n = 1, inner = 1;
};
Around around(const Shape& s, std::size_t axis) {
  Around a;
  for (std::size_t i = 0; i < axis; ++i) a.outer *= s[i];
  a.n = s[axis];
  for (std::size_t i = axis + 1; i < s.size(); ++i) a.inner *= s[i];
  return a;
}

void add_run(float* dst, const float* src, std::size_t len) {
  for (std::size_t j = 0; j < len; ++j) dst[j] += src[j];
}

// Input i's gradient is `grad` read with the input's shape (reshape-like ops).
void pass_flat(GradSink& g, std::size_t i, const Tensor& grad) {
  if (!g.needs(i)) return;
  float beta;
  Tensor& buf = g.buffer(i, beta);
  if (beta == 0.0f)
    std::copy(grad.data(), grad.data() + grad.size(), buf.data());
  else
    add_run(buf.data(), grad.data(), grad.size());
}

// Same elements, new shape: reshape, flatten, squeeze, unsqueeze.
Var view_as(const char* op, const Var& x, const Shape& shape) {
  Tensor y = x.value();
  y.reshape(shape);
  return record(
      op, std::move(y), {x}, [](const Node& n, GradSink& g) { pass_flat(g, 0, n.grad); },
      autograd::kReadsNothing);
}

// x[.., start + k*step, ..] for k < len along `axis`, as a tensor of shape `out`.
Var take(const char* op, const Var& x, std::size_t axis, std::size_t start, std::size_t len,
         std::size_t step, const Shape& out) {
  const Around a = around(x.shape(), axis);
  const std::size_t outer = a.outer, in = a.inner, n = a.n;
  const float* X = x.value().data();
  auto fill = [&](float* Y) {
    for (std::size_t o = 0; o < outer; ++o) {
      const float* s = X + (o * n + start) * in;
      float* d = Y + o * len * in;
      if (step == 1)
        std::copy(s, s + len * in, d);
      else
        for (std::size_t k = 0; k < len; ++k)
          std::copy(s + k * step * in, s + k * step * in + in, d + k * in);
    }
  };
  return autograd::record_filled(
      op, out, fill, {x},
      [outer, n, in, start, len, step](const Node& nd, GradSink& g) {
        if (!g.needs(0)) return;
        // Only the region read gets gradient; zeroing a fresh buffer once (not a
        // full-size zero tensor per call) keeps T selects of a [T, ...] tensor O(T) in
        // backward.
        float beta;
        Tensor& buf = g.buffer(0, beta);
        const float* G = nd.grad.data();
        float* B = buf.data();
        if (beta == 0.0f && step == 1) {
          // A fresh buffer: copy the region read, zero the rest (one pass over it, not two).
          for (std::size_t o = 0; o < outer; ++o) {
            float* row = B + o * n * in;
            std::fill(row, row + start * in, 0.0f);
            std::copy(G + o * len * in, G + (o + 1) * len * in, row + start * in);
            std::fill(row + (start + len) * in, row + n * in, 0.0f);
          }
          return;
        }
        if (beta == 0.0f) std::fill(buf.data(), buf.data() + buf.size(), 0.0f);
        for (std::size_t o = 0; o < outer; ++o) {
          float* d = B + (o * n + start) * in;
          const float* s = G + o * len * in;
          if (step == 1)
            add_run(d, s, len * in);
          else
            for (std::size_t k = 0; k < len; ++k) add_run(d + k * step * in, s + k * in, in);
        }
      },
      autograd::kReadsNothing);
}

// The pieces of one split of x along an axis (split, chunk, unbind): contiguous regions
// [start, start + len) that tile the axis. Their backwards share this record so that the
// first one to run writes the whole parent gradient in one pass: every piece's gradient
// that has arrived, zeros only where none has. Per-piece backwards would zero the parent
// once and then add each piece (two passes, the second a read-modify-write).
struct SplitGroup {
  std::size_t outer = 1, n = 1, inner = 1;
  std::vector<std::size_t> start, len;
  // The recorded pieces, filled once all are recorded. The tape keeps them alive while
  // any of their backwards can run (clear() destroys the backwards with this record).
  std::vector<Node*> pieces;
};

void split_backward(const SplitGroup& grp, std::size_t self, const Node& nd, GradSink& g) {
  if (!g.needs(0)) return;
  const std::size_t k = grp.start.size(), in = grp.inner;
  // The pieces are recorded one after another, so every gradient a sibling will get in this
  // walk has arrived by the time the first of them runs (the walk goes backwards).
  std::vector<const float*> src(k, nullptr);
  for (std::size_t j = 0; j < k; ++j) {
    const Node* p = j == self ? &nd : grp.pieces[j];
    if (j == self || (p && p->pending && p->has_grad)) src[j] = p->grad.data();
  }
  float beta;
  float* B = g.buffer(0, beta).data();
  for (std::size_t o = 0; o < grp.outer; ++o) {
    float* row = B + o * grp.n * in;
    for (std::size_t j = 0; j < k; ++j) {
      float* d = row + grp.start[j] * in;
      const std::size_t run = grp.len[j] * in;
      if (src[j] && beta == 0.0f)
        std::copy(src[j] + o * run, src[j] + (o + 1) * run, d);
      else if (src[j])
        add_run(d, src[j] + o * run, run);
      else if (beta == 0.0f)
        std::fill(d, d + run, 0.0f);
    }
  }
  for (std::size_t j = 0; j < k; ++j)
    if (j != self && src[j]) g.consume(*grp.pieces[j]);
}

// x split along `axis` into pieces of the given sizes (which sum to x.shape[axis]).
std::vector<Var> split_pieces(const char* op, const Var& x, std::size_t axis,
                              const std::vector<std::size_t>& sizes) {
  const Shape s = x.shape();
  const Around a = around(s, axis);
  auto grp = std::make_shared<SplitGroup>();
  grp->outer = a.outer;
  grp->n = a.n;
  grp->inner = a.inner;
  std::size_t start = 0;
  for (std::size_t v : sizes) {
    grp->start.push_back(start);
    grp->len.push_back(v);
    start += v;
  }
  grp->pieces.assign(sizes.size(), nullptr);
  const float* X = x.value().data();
  std::vector<Var> out;
  out.reserve(sizes.size());
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    Shape piece = s;
    piece[axis] = sizes[k];
    const std::size_t st = grp->start[k], run = sizes[k] * a.inner;
    auto fill = [&](float* Y) {
      for (std::size_t o = 0; o < a.outer; ++o) {
        const float* src = X + (o * a.n + st) * a.inner;
        std::copy(src, src + run, Y + o * run);
      }
    };
    out.push_back(autograd::record_filled(
        op, piece, fill, {x},
        [grp, k](const Node& nd, GradSink& g) { split_backward(*grp, k, nd, g); },
        autograd::kReadsNothing));
    // Null when nothing was recorded (no input needs a gradient): no backward reads it.
    grp->pieces[k] = out.back().requires_grad() ? out.back().node() : nullptr;
  }
  return out;
}

// Joins xs along an axis seen as [outer, sizes[i], inner] for input i (stack: sizes all 1).
Var join(const char* op, const std::vector<Var>& xs, std::size_t outer,
         const std::vector<std::size_t>& sizes, std::size_t inner, const Shape& out) {
  std::vector<std::size_t> offset(xs.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    offset[i] = total;
    total += sizes[i];
  }
  auto fill = [&](float* Y) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const float* X = xs[i].value().data();
      const std::size_t run = sizes[i] * inner;
      for (std::size_t o = 0; o < outer; ++o)
        std::copy(X + o * run, X + (o + 1) * run, Y + (o * total + offset[i]) * inner);
    }
  };
  return autograd::record_filled(
      op, out, fill, xs,
      [outer, sizes, offset, total, inner](const Node& n, GradSink& g) {
        const float* G = n.grad.data();
        for (std::size_t i = 0; i < sizes.size(); ++i) {
          if (!g.needs(i)) continue;
          float beta;
          float* B = g.buffer(i, beta).data();
          const std::size_t run = sizes[i] * inner;
          for (std::size_t o = 0; o < outer; ++o) {
            const float* s = G + (o * total + offset[i]) * inner;
            if (beta == 0.0f)
              std::copy(s, s + run, B + o * run);
            else
              add_run(B + o * run, s, run);
          }
        }
      },
      autograd::kReadsNothing);
}

// dst[i] (=|+=) src[j] with j[p[k]] = i[k]; dst has shape src_shape permuted by p.
void permute_into(const float* src, const Shape& src_shape, const std::vector<std::size_t>& p,
                  float* dst, bool accumulate) {
  const std::size_t r = src_shape.size();
  if (r == 0) {
    dst[0] = accumulate ? dst[0] + src[0] : src[0];
    return;
  }
  std::vector<std::size_t> src_stride(r, 1);
  for (std::size_t i = r - 1; i-- > 0;) src_stride[i] = src_stride[i + 1] * src_shape[i + 1];
  Shape out(r);
  std::vector<std::size_t> step(r);  // source stride of each output axis
  for (std::size_t k = 0; k < r; ++k) {
    out[k] = src_shape[p[k]];
    step[k] = src_stride[p[k]];
  }
  if (numel(out) == 0) return;
  const std::size_t inner = out[r - 1], is = step[r - 1];
  const std::size_t rows = numel(out) / inner;
  std::vector<std::size_t> idx(r, 0);
  std::size_t base = 0;
  for (std::size_t row = 0; row < rows; ++row, dst += inner) {
    const float* s = src + base;
    if (accumulate)
      for (std::size_t j = 0; j < inner; ++j) dst[j] += s[j * is];
    else if (is == 1)
      std::copy(s, s + inner, dst);
    else
      for (std::size_t j = 0; j < inner; ++j) dst[j] = s[j * is];
    for (std::size_t k = r - 1; k-- > 0;) {  // odometer over output axes r-2 .. 0
      base += step[k];
      if (++idx[k] < out[k]) break;
      base -= step[k] * idx[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

Var reshape(const Var& x, std::vector<std::ptrdiff_t> shape) {
  auto spec = [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + str(shape[i]);
    return s + "]";
  };
  const std::size_t count = x.size();
  std::size_t known = 1;
  std::ptrdiff_t infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0)
        throw ShapeError("reshape: " + spec() + " has more than one -1 (reshaping " +
                         shape_str(x.value()) + ")");
      infer = static_cast<std::ptrdiff_t>(i);
    } else if (shape[i] < 0) {
      throw ShapeError("reshape: " + spec() + " has a negative size other than -1 (reshaping " +
                       shape_str(x.value()) + ")");
    } else {
      known *= static_cast<std::size_t>(shape[i]);
    }
  }
  Shape out(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) out[i] = static_cast<std::size_t>(shape[i]);
  if (infer >= 0) {
    if (known == 0 || count % known != 0)
      throw ShapeError("reshape: cannot infer the -1 in " + spec() + " for " +
                       shape_str(x.value()) + " (" + std::to_string(count) + " elements)");
    out[static_cast<std::size_t>(infer)] = count / known;
  } else if (known != count) {
    throw ShapeError("reshape: cannot reshape " + shape_str(x.value()) + " (" +
                     std::to_string(count) + " elements) to " + spec() + " (" +
                     std::to_string(known) + " elements)");
  }
  return view_as("reshape", x, out);
}

Var flatten(const Var& x, int start_axis, int end_axis) {
  const Shape s = x.shape();
  if (s.empty()) return view_as("flatten", x, Shape{1});
  const std::size_t a = norm_axis("flatten", start_axis, s.size(), s);
  const std::size_t b = norm_axis("flatten", end_axis, s.size(), s);
  if (a > b)
    throw ShapeError("flatten: start axis " + str(start_axis) + " comes after end axis " +
                     str(end_axis) + " for shape " + shape_str(s));
  Shape out(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(a));
  std::size_t merged = 1;
  for (std::size_t i = a; i <= b; ++i) merged *= s[i];
  out.push_back(merged);
  out.insert(out.end(), s.begin() + static_cast<std::ptrdiff_t>(b) + 1, s.end());
  return view_as("flatten", x, out);
}

Var permute(const Var& x, std::vector<int> axes) {
  const Shape s = x.shape();
  const std::size_t r = s.size();
  auto spec = [&] {
    std::string t = "(";
    for (std::size_t i = 0; i < axes.size(); ++i) t += (i ? ", " : "") + str(axes[i]);
    return t + ")";
  };
  if (axes.size() != r)
    throw ShapeError("permute: " + spec() + " has " + std::to_string(axes.size()) +
                     " axes, expected one per axis of the rank-" + std::to_string(r) + " input " +
                     shape_str(s));
  std::vector<std::size_t> p(r), inv(r, r);
  for (std::size_t k = 0; k < r; ++k) {
    p[k] = norm_axis("permute", axes[k], r, s);
    if (inv[p[k]] != r)
      throw ShapeError("permute: " + spec() + " repeats axis " + std::to_string(p[k]) + " (input " +
                       shape_str(s) + ")");
    inv[p[k]] = k;
  }
  Shape out(r);
  for (std::size_t k = 0; k < r; ++k) out[k] = s[p[k]];
  return autograd::record_filled(
      "permute", out, [&](float* y) { permute_into(x.value().data(), s, p, y, false); }, {x},
      [out, inv](const Node& n, GradSink& g) {
        if (!g.needs(0)) return;
        float beta;
        Tensor& buf = g.buffer(0, beta);
        permute_into(n.grad.data(), out, inv, buf.data(), beta != 0.0f);
      },
      autograd::kReadsNothing);
}

Var transpose(const Var& x, int axis0, int axis1) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("transpose", axis0, s.size(), s);
  const std::size_t b = norm_axis("transpose", axis1, s.size(), s);
  std::vector<int> axes(s.size());
  for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int>(i);
  std::swap(axes[a], axes[b]);
  return permute(x, std::move(axes));
}

Var select(const Var& x, int axis, std::size_t index) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("select", axis, s.size(), s);
  if (index >= s[a])
    throw ShapeError("select: index " + std::to_string(index) + " is out of range for axis " +
                     str(axis) + " of size " + std::to_string(s[a]) + " (shape " + shape_str(s) +
                     ")");
  Shape out = s;
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(a));
  return take("select", x, a, index, 1, 1, out);
}

Var narrow(const Var& x, int axis, std::size_t start, std::size_t length) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("narrow", axis, s.size(), s);
  if (start > s[a] || length > s[a] - start)
    throw ShapeError("narrow: start " + std::to_string(start) + " + length " +
                     std::to_string(length) + " exceeds axis " + str(axis) + " of size " +
                     std::to_string(s[a]) + " (shape " + shape_str(s) + ")");
  Shape out = s;
  out[a] = length;
  return take("narrow", x, a, start, length, 1, out);
}

Var slice(const Var& x, int axis, std::ptrdiff_t start, std::ptrdiff_t end, std::ptrdiff_t step) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("slice", axis, s.size(), s);
  if (step < 1)
    throw ShapeError("slice: step " + str(step) + " must be >= 1 (axis " + str(axis) + ", shape " +
                     shape_str(s) + ")");
  const auto d = static_cast<std::ptrdiff_t>(s[a]);
  auto clamp = [d](std::ptrdiff_t v) {
    return std::clamp(v < 0 ? v + d : v, std::ptrdiff_t{0}, d);
  };
  const std::ptrdiff_t b = clamp(start), e = clamp(end);
  const std::size_t len = e > b ? static_cast<std::size_t>((e - b + step - 1) / step) : 0;
  Shape out = s;
  out[a] = len;
  return take("slice", x, a, static_cast<std::size_t>(b), len, static_cast<std::size_t>(step), out);
}

Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ShapeError("concat: needs at least one input, got none");
  const Shape s0 = xs[0].shape();
  const std::size_t a = norm_axis("concat", axis, s0.size(), s0);
  std::vector<std::size_t> sizes(xs.size());
  Shape out = s0;
  out[a] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Shape si = xs[i].shape();
    bool ok = si.size() == s0.size();
    for (std::size_t k = 0; ok && k < si.size(); ++k) ok = k == a || si[k] == s0[k];
    if (!ok) {
      Shape want = s0;
      std::string w = "[";
      for (std::size_t k = 0; k < want.size(); ++k)
        w += (k ? ", " : "") + (k == a ? std::string("*") : std::to_string(want[k]));
      throw ShapeError("concat: input " + std::to_string(i) + " has shape " + shape_str(si) +
                       ", expected " + w + "] matching input 0 " + shape_str(s0) +
                       " except on axis " + str(axis));
    }
    sizes[i] = si[a];
    out[a] += si[a];
  }
  const Around r = around(s0, a);
  return join("concat", xs, r.outer, sizes, r.inner, out);
}

Var stack(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ShapeError("stack: needs at least one input, got none");
  const Shape s0 = xs[0].shape();
  for (std::size_t i = 1; i < xs.size(); ++i)
    if (xs[i].shape() != s0)
      throw ShapeError("stack: input " + std::to_string(i) + " has shape " +
                       shape_str(xs[i].value()) + ", expected " + shape_str(s0) + " like input 0");
  // The new axis may go anywhere in the output, whose rank is one more.
  const std::size_t a = norm_axis("stack", axis, s0.size() + 1, s0);
  Shape out = s0;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(a), xs.size());
  std::size_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < a; ++i) outer *= s0[i];
  for (std::size_t i = a; i < s0.size(); ++i) inner *= s0[i];
  return join("stack", xs, outer, std::vector<std::size_t>(xs.size(), 1), inner, out);
}

std::vector<Var> split(const Var& x, const std::vector<std::size_t>& sizes, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("split", axis, s.size(), s);
  std::size_t total = 0;
  std::string list;
  for (std::size_t v : sizes) {
    total += v;
    list += (list.empty() ? "" : ", ") + std::to_string(v);
  }
  if (total != s[a])
    throw ShapeError("split: sizes [" + list + "] sum to " + std::to_string(total) +
                     ", expected the size " + std::to_string(s[a]) + " of axis " + str(axis) +
                     " (shape " + shape_str(s) + ")");
  return split_pieces("split", x, a, sizes);
}

std::vector<Var> unbind(const Var& x, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("unbind", axis, s.size(), s);
  // Not a split group: unbind cuts the time axis of an unrolled input, whose pieces are
  // consumed one step apart. Written together, the pieces' gradients would all stay alive
  // until the first step's backward and be copied cold; one by one, each goes into the
  // input's gradient while it is still in cache, and its buffer serves the next step.
  Shape piece = s;
  piece.erase(piece.begin() + static_cast<std::ptrdiff_t>(a));
  std::vector<Var> out;
  out.reserve(s[a]);
  for (std::size_t i = 0; i < s[a]; ++i) out.push_back(take("unbind", x, a, i, 1, 1, piece));
  return out;
}

std::vector<Var> split(const Var& x, std::size_t split_size, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("split", axis, s.size(), s);
  if (split_size == 0 && s[a] != 0)
    throw ShapeError("split: split_size 0 cannot split axis " + str(axis) + " of size " +
                     std::to_string(s[a]) + " (shape " + shape_str(s) + ")");
  std::vector<std::size_t> sizes;
  for (std::size_t start = 0; start < s[a]; start += split_size)
    sizes.push_back(std::min(split_size, s[a] - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty axis splits into one empty piece
  return split(x, sizes, axis);
}

std::vector<Var> chunk(const Var& x, std::size_t chunks, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("chunk", axis, s.size(), s);
  if (chunks == 0)
    throw ShapeError("chunk: chunks must be >= 1, got 0 (axis " + str(axis) + ", shape " +
                     shape_str(s) + ")");
  return split(x, std::max<std::size_t>(1, (s[a] + chunks - 1) / chunks), axis);
}

Var unsqueeze(const Var& x, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("unsqueeze", axis, s.size() + 1, s);
  Shape out = s;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(a), 1);
  return view_as("unsqueeze", x, out);
}

Var squeeze(const Var& x, int axis) {
  const Shape s = x.shape();
  const std::size_t a = norm_axis("squeeze", axis, s.size(), s);
  // PyTorch silently keeps a non-1 axis; an error here catches a wrong axis instead.
  if (s[a] != 1)
    throw ShapeError("squeeze: axis " + str(axis) + " has size " + std::to_string(s[a]) +
                     ", expected 1 (shape " + shape_str(s) + ")");
  Shape out = s;
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(a));
  return view_as("squeeze", x, out);
}

Var expand(const Var& x, const Shape& shape) {
  const Shape s = x.shape();
  bool ok = s.size() <= shape.size();
  for (std::size_t i = 0; ok && i < s.size(); ++i) {
    const std::size_t have = s[s.size() - 1 - i], want = shape[shape.size() - 1 - i];
    ok = have == want || have == 1;
  }
  if (!ok)
    throw ShapeError("expand: cannot broadcast " + shape_str(s) + " to " + shape_str(shape) +
                     " (each input dim, right-aligned, must be 1 or equal the target's)");
  Tensor y = xt::broadcast(x.value(), shape);
  // The tape sums the gradient over the broadcast axes.
  return record(
      "expand", std::move(y), {x}, [](const Node& n, GradSink& g) { g.add(0, n.grad); },
      autograd::kReadsNothing);
}

}  // namespace unroll::ops
