#pragma once
// The sink a backward function hands its input gradients to: it accumulates fan-out, reduces
// broadcast gradients, recycles buffers and batches weight gradients, so ops do none of it.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xtensor/xexpression.hpp>
#include <xtensor/xnoalias.hpp>

#include "autograd/node.hpp"

namespace unroll::autograd {

class Tape;

/// Receives the gradients a backward function produces, one per input. It accumulates
/// fan-out (an input used twice gets the sum) and reduces a broadcast gradient back to
/// the input's shape, so ops never do either themselves.
class GradSink {
 public:
  /// A sink for the inputs of `self`, the node being differentiated.
  explicit GradSink(const Node& self) : self_(self) {}
  /// Whether input i wants a gradient (skip the work when it does not).
  bool needs(std::size_t i) const { return self_.inputs[i]->requires_grad; }
  /// Add `grad` to input i's gradient. `grad` may have the broadcast (output) shape.
  void add(std::size_t i, Tensor&& grad);
  /// Same, without a temporary. Passing the output gradient itself (`g.add(i, n.grad)`)
  /// lets the tape hand its buffer to the input instead of copying it.
  void add(std::size_t i, const Tensor& grad);
  /// Same, for an unevaluated xtensor expression: evaluated straight into (or added onto)
  /// the input's gradient buffer when it has the input's shape. When the input is a sigmoid
  /// or tanh, the expression times its derivative goes to that op's own input instead.
  template <class E>
  requires(xt::is_xexpression<std::decay_t<E>>::value &&
           !std::is_same_v<std::decay_t<E>, Tensor>) void add(std::size_t i, E&& grad);
  /// Input i's own gradient buffer, shaped like the input, for ops that accumulate in
  /// place (GEMM with beta). `beta` is 0 when the buffer is fresh (overwrite it
  /// completely) and 1 when it already holds a gradient (add to it).
  Tensor& buffer(std::size_t i, float& beta);
  /// Marks `other`, a node recorded before this one, as differentiated: its gradient has
  /// been used by this backward (the pieces of one split write their input's gradient
  /// together), so the walk skips it and frees its gradient as if it had run.
  void consume(Node& other);
  /// dW_i += G^T X for a leaf input i (a weight; G [rows, out], X [rows, in], row-major,
  /// `finish(G_all, X_all, rows, out, in, beta, dW)` computes it). When the tape runs this
  /// sink and input i is a leaf, the rows of G and X are appended to the leaf's batch and
  /// one call of `finish` over all rows runs at the end of the walk: BPTT then makes one
  /// large weight-gradient GEMM instead of one small one per time step. Returns false when
  /// nothing was deferred (the caller computes the product itself).
  using WeightGradFn = void (*)(const float* G, const float* X, std::size_t rows, std::size_t out,
                                std::size_t in, float beta, float* dW);
  bool defer_weight_grad(std::size_t i, const float* G, const float* X, std::size_t rows,
                         std::size_t out, std::size_t in, WeightGradFn finish);

 private:
  friend class Tape;
  GradSink(Node& self, Tape* tape, bool fold)
      : self_(self), owner_(&self), tape_(tape), fold_(fold) {}
  /// Whether input `u`'s own backward can be folded into the gradient handed to it: u is a
  /// sigmoid or tanh, no part of its gradient has arrived yet, and nobody reads that
  /// gradient (not retained). Backward is linear, so this op's part of du can go through
  /// f'(u) to u's input at once; a part arriving later from another consumer goes through
  /// u's own backward as usual, and the two parts add up in u's input.
  bool folds_into(const Node& u) const {
    return fold_ && u.local_grad != LocalGrad::None && !u.has_grad && !u.pending && !u.retain_grad;
  }
  /// u's input gets grad * f'(u's output) directly: no buffer for du, and no pass of u's
  /// backward reading it back.
  template <class E>
  void add_through(const Node& u, const E& grad);
  template <class E>
  void accumulate(Node& in, const E& grad);
  /// in.grad ready to be overwritten: shaped like the input's value, buffer recycled when possible.
  Tensor& fresh(Node& in);
  void add_same_shape(Node& in, const Tensor& grad);
  /// The hand-offs of the output gradient deferred by add(i, self.grad); `dead` says the
  /// output gradient is not needed afterwards, so one input may take its buffer.
  void flush(bool dead);

  const Node& self_;
  Node* owner_ = nullptr;  // the same node, mutable, when the tape runs this sink
  Tape* tape_ = nullptr;
  std::uint64_t deferred_ = 0;  // bit i: input i receives self.grad at flush()
  bool fold_ = false;           // fold sigmoid and tanh backwards (off in anomaly mode, which
                                // checks every op's gradients)
};

template <class E>
requires(xt::is_xexpression<std::decay_t<E>>::value &&
         !std::is_same_v<std::decay_t<E>, Tensor>) void GradSink::add(std::size_t i, E&& grad) {
  Node& in = *self_.inputs[i];
  if (!in.requires_grad) return;
  const auto& gs = grad.shape();
  const auto& vs = in.shape();
  bool same = gs.size() == vs.size();
  for (std::size_t k = 0; same && k < vs.size(); ++k) same = gs[k] == vs[k];
  if (!same) {
    add(i, Tensor(std::forward<E>(grad)));  // broadcast: evaluate, then reduce
    return;
  }
  if (folds_into(in))
    add_through(in, grad);
  else
    accumulate(in, grad);
}

template <class E>
void GradSink::accumulate(Node& in, const E& grad) {
  // An op's gradient expression reads its output gradient, output and input values, never
  // an input's gradient, so writing into in.grad cannot alias what the expression reads.
  if (in.has_grad)
    xt::noalias(in.grad) += grad;
  else
    xt::noalias(fresh(in)) = grad;
  in.pending = true;
}

template <class E>
void GradSink::add_through(const Node& u, const E& grad) {
  Node& x = *u.inputs[0];  // sigmoid and tanh keep their input's shape
  if (!x.requires_grad) return;
  const Tensor& y = u.value;
  if (u.local_grad == LocalGrad::Sigmoid)
    accumulate(x, grad * y * (1.0f - y));
  else
    accumulate(x, grad * (1.0f - y * y));
}

}  // namespace unroll::autograd
