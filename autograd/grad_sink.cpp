#include "autograd/grad_sink.hpp"

#include <algorithm>
#include <bit>
#include <string>

#include "autograd/broadcast.hpp"
#include "autograd/errors.hpp"
#include "autograd/grad_buffer.hpp"
#include "autograd/tape.hpp"

namespace unroll::autograd {

using detail::kKeepGradElements;
using detail::mark_empty;
using detail::same_shape;

namespace {
// Weight-gradient products over at most this many rows are batched (one time step of a
// recurrent layer is `batch` rows; a linear over a whole sequence is batch * T rows).
constexpr std::size_t kDeferRowsAtMost = 256;
// ...and only for weights larger than a core's L2 cache (1 MiB here): a small per-step
// product keeps dW in cache and beats copying its rows (measured: LSTM/GRU H=256 and
// LSTM H=128 1-6% slower batched, LSTM H=512 7% faster; benchmarks/README.md).
constexpr std::size_t kDeferWeightElementsAbove = 256 * 1024;

Tensor reduced_for(const Node& self, std::size_t i, const Tensor& grad) {
  const Node& in = *self.inputs[i];
  try {
    return reduce_to_shape(grad, Shape(in.shape().begin(), in.shape().end()));
  } catch (const ShapeError&) {
    throw AutogradError(std::string("backward of '") + self.op + "': gradient for input " +
                        std::to_string(i) + " has shape " + shape_str(grad) +
                        ", which does not reduce to the input's shape " +
                        shape_str(Shape(in.shape().begin(), in.shape().end())));
  }
}
}  // namespace

Tensor& GradSink::fresh(Node& in) {
  const std::size_t n = in.numel();
  if (in.grad.size() != n && tape_) {
    tape_->release_grad(in.grad);
    tape_->take_spare(in.grad, n);
  }
  if (!same_shape(in.grad.shape(), in.shape())) in.grad.resize(in.shape());
  in.has_grad = true;
  in.pending = true;
  return in.grad;
}

void GradSink::add_same_shape(Node& in, const Tensor& grad) {
  // Both contiguous row-major of one shape: a flat loop (vectorised by the compiler) skips
  // xtensor's per-assignment shape and stride checks, most of the cost for small tensors.
  const float* src = grad.data();
  const std::size_t n = grad.size();
  if (in.has_grad) {
    float* dst = in.grad.data();
    for (std::size_t k = 0; k < n; ++k) dst[k] += src[k];
  } else {
    std::copy(src, src + n, fresh(in).data());
  }
  in.pending = true;
}

void GradSink::add(std::size_t i, Tensor&& grad) {
  Node& in = *self_.inputs[i];
  if (!in.requires_grad) return;
  if (!same_shape(grad.shape(), in.shape())) grad = reduced_for(self_, i, grad);
  if (in.has_grad) {
    xt::noalias(in.grad) += grad;
  } else {
    if (tape_) tape_->release_grad(in.grad);
    in.grad = std::move(grad);
    in.has_grad = true;
  }
  in.pending = true;
}

void GradSink::add(std::size_t i, const Tensor& grad) {
  if (&grad == &self_.grad && owner_ && i < 64) {
    deferred_ |= std::uint64_t{1} << i;  // handed over (or copied) at flush()
    return;
  }
  Node& in = *self_.inputs[i];
  if (!in.requires_grad) return;
  if (same_shape(grad.shape(), in.shape()))
    add_same_shape(in, grad);
  else
    add(i, reduced_for(self_, i, grad));
}

void GradSink::flush(bool dead) {
  Node& self = *owner_;
  // First the inputs that add onto an existing gradient (no buffer needed)...
  for (std::uint64_t m = deferred_; m; m &= m - 1) {
    const auto i = static_cast<std::size_t>(std::countr_zero(m));
    Node& in = *self.inputs[i];
    if (!in.requires_grad) {
      deferred_ &= ~(std::uint64_t{1} << i);
    } else if (in.has_grad) {
      deferred_ &= ~(std::uint64_t{1} << i);
      if (same_shape(self.grad.shape(), in.shape()))
        add_same_shape(in, self.grad);
      else
        add(i, reduced_for(self, i, self.grad));
    }
  }
  // ...then the ones that need a buffer: the last takes the output gradient's own buffer
  // when nothing reads it afterwards, the others get copies.
  while (deferred_) {
    const auto i = static_cast<std::size_t>(std::countr_zero(deferred_));
    deferred_ &= deferred_ - 1;
    Node& in = *self.inputs[i];
    if (deferred_ == 0 && dead && !in.has_grad && same_shape(self.grad.shape(), in.shape()) &&
        self.grad.size() > kKeepGradElements) {
      // Hand the buffer itself over: no copy, no allocation.
      tape_->release_grad(in.grad);
      in.grad.storage() = std::move(self.grad.storage());
      in.grad.resize(in.shape());
      mark_empty(self.grad);
      in.has_grad = true;
      in.pending = true;
    } else if (same_shape(self.grad.shape(), in.shape())) {
      add_same_shape(in, self.grad);
    } else {
      add(i, reduced_for(self, i, self.grad));
    }
  }
}

Tensor& GradSink::buffer(std::size_t i, float& beta) {
  Node& in = *self_.inputs[i];
  if (!in.has_grad) {
    fresh(in);
    beta = 0.0f;
  } else {
    beta = 1.0f;
  }
  in.pending = true;
  return in.grad;
}

void GradSink::consume(Node& other) {
  if (!other.pending) return;
  other.pending = false;
  if (other.retain_grad) return;
  // As run_backward does for a node whose gradient has been passed on.
  if (tape_ && other.grad.size() > kKeepGradElements) tape_->release_grad(other.grad);
  other.has_grad = false;
}

bool GradSink::defer_weight_grad(std::size_t i, const float* G, const float* X, std::size_t rows,
                                 std::size_t out, std::size_t in, WeightGradFn finish) {
  Node& w = *self_.inputs[i];
  // Only leaves: nothing downstream reads a leaf's gradient during the walk. Large products
  // are efficient GEMMs already, and copying their rows would cost more than it saves.
  if (!tape_ || !w.is_leaf() || !w.requires_grad || rows > kDeferRowsAtMost ||
      out * in <= kDeferWeightElementsAbove)
    return false;
  auto& list = tape_->deferred_;
  Tape::DeferredWeightGrad* d = nullptr;
  for (std::size_t k = 0; k < tape_->deferred_used_ && !d; ++k)
    if (list[k].leaf == &w) d = &list[k];
  if (d && (d->out != out || d->in != in || d->finish != finish)) return false;
  if (!d) {
    if (tape_->deferred_used_ == list.size()) list.emplace_back();
    d = &list[tape_->deferred_used_++];
    d->leaf = &w;
    d->out = out;
    d->in = in;
    d->rows = 0;
    d->finish = finish;
    d->g.clear();
    d->x.clear();
  }
  d->g.insert(d->g.end(), G, G + rows * out);
  d->x.insert(d->x.end(), X, X + rows * in);
  d->rows += rows;
  return true;
}

}  // namespace unroll::autograd
