#pragma once
// The tape: recorded nodes in creation order. Because an op's inputs always exist before
// the op, the reverse of creation order is a valid backward order: no topological sort,
// and backward is a plain loop (BPTT over an unrolled cell is exactly this loop).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include <xtensor/xexpression.hpp>
#include <xtensor/xnoalias.hpp>

#include "autograd/broadcast.hpp"
#include "autograd/errors.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/value_cache.hpp"
#include "autograd/var.hpp"

namespace unroll::autograd {

/// Records nodes in creation order; backward() walks them in reverse.
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  ~Tape();

  /// Number of recorded ops.
  std::size_t size() const { return nodes_.size(); }
  /// Bytes of the recorded ops' output values: the activations held for backward.
  std::size_t value_bytes() const;
  /// Drop every recorded op. Vars still held by the user become constants (no history);
  /// parameters and other leaves keep their values and accumulated gradients.
  void clear();

  /// Append a node whose inputs are set; pins leaf inputs for the tape's lifetime.
  void push(std::shared_ptr<Node> node);
  /// Keep a leaf alive until the tape is cleared (once per leaf per epoch).
  void pin(const std::shared_ptr<Node>& leaf);
  /// Reverse walk from `root`, whose gradient has been seeded.
  void run_backward(Node& root);
  /// Changes when the tape is cleared: a value read from a node of this tape stays valid
  /// while the epoch (and leaf_value_generation()) stay the same.
  std::uint64_t epoch() const { return epoch_; }
  /// Whether `n` was recorded on this tape (leaves are not).
  bool owns(const Node& n) const {
    return n.tape_pos < nodes_.size() && nodes_[n.tape_pos].get() == &n;
  }

 private:
  friend class GradSink;
  friend std::shared_ptr<Node> detail_acquire_node(Tape& tape);
  /// A spare buffer of `n` elements moved into the empty `dst`, if the tape holds one.
  void take_spare(Tensor& dst, std::size_t n);
  /// Empty `t`, keeping its buffer as a spare for a later gradient (or freeing it).
  void release_grad(Tensor& t);
  /// A gradient that has been passed on: small ones keep their buffer in the node for the
  /// next step (cheaper than recycling); large ones are released, so peak memory holds
  /// only the live gradients.
  void retire_grad(Tensor& t);
  /// Runs the weight-gradient products deferred by GradSink::defer_weight_grad (once per
  /// leaf); `keep` false drops them instead (an abandoned walk).
  void finish_deferred(bool keep, bool anomaly);

  // Rows of G and X gathered for one leaf's deferred weight gradient in the running walk.
  struct DeferredWeightGrad {
    Node* leaf = nullptr;
    std::size_t out = 0, in = 0, rows = 0;
    GradSink::WeightGradFn finish = nullptr;
    std::vector<float> g, x;  // kept across walks: their capacity is reused
  };
  std::vector<DeferredWeightGrad> deferred_;
  std::size_t deferred_used_ = 0;

  std::vector<std::shared_ptr<Node>> nodes_;
  std::vector<std::shared_ptr<Node>> leaves_;  // leaves used by recorded ops, each once
  // Nodes recycled by clear() with their value buffers, in recording order (back() first):
  // step k+1 gets step k's node objects and buffers instead of fresh allocations.
  std::vector<std::shared_ptr<Node>> free_nodes_;
  // Dead intermediate gradients: the next gradient of the same size reuses the buffer, so
  // a backward walk allocates almost nothing and peak memory stays at one live gradient.
  std::vector<Tensor::storage_type> spare_grads_;
  std::uint64_t epoch_ = next_epoch();
  static std::uint64_t next_epoch();
};

/// Counts Var::mutable_value() calls, the one way to change a leaf's value: with a tape's
/// epoch it dates copies derived from leaves (a GEMM library's reordered weights).
std::uint64_t leaf_value_generation();
/// Called by Var::mutable_value().
void note_leaf_value_change();

/// Used by record(): a node to record into, recycled from an earlier step when possible.
std::shared_ptr<Node> detail_acquire_node(Tape& tape);

/// The tape ops record onto in this thread (a per-thread default unless a TapeScope is
/// active).
Tape& current_tape();

/// Makes `tape` the current tape for this thread until the scope ends.
class TapeScope {
 public:
  /// Makes `tape` current; the destructor restores the previous one.
  explicit TapeScope(Tape& tape);
  ~TapeScope();
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;

 private:
  Tape* previous_;
};

/// Whether ops record (false inside a NoGradGuard).
bool grad_enabled();
/// Ops run inside this scope compute values but record nothing (evaluation, updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Anomaly mode (off by default): every recorded output and every backward gradient is
/// checked for NaN/Inf; the first one throws AnomalyError naming the op.
void set_anomaly_mode(bool on);
bool anomaly_mode();
/// Turns anomaly mode on (or off) for a scope.
class AnomalyGuard {
 public:
  /// Sets anomaly mode to `on`; the destructor restores the previous mode.
  explicit AnomalyGuard(bool on = true);
  ~AnomalyGuard();
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

using VarRefs = std::initializer_list<std::reference_wrapper<const Var>>;

/// What an op's backward reads besides its output gradient: its own output value, and the
/// values of the inputs whose bits are set. The tape frees every value that no backward
/// reads as soon as no Var refers to it (shapes are always kept), so it holds what backward
/// needs and not every intermediate. The default, everything, is always safe.
struct Reads {
  bool output = true;
  std::uint32_t inputs = ~std::uint32_t{0};  ///< bit i: the value of input i
};
/// Backward reads the output and every input (the default).
inline constexpr Reads kReadsAll{};
/// Backward reads only shapes and the output gradient (add, reshape, slices, joins).
inline constexpr Reads kReadsNothing{false, 0};
/// Backward reads only the output value (tanh, sigmoid, exp).
inline constexpr Reads kReadsOutput{true, 0};
/// Backward reads the input values, not the output (mul, matmul, linear).
inline constexpr Reads kReadsInputs{false, ~std::uint32_t{0}};
/// Backward reads only the first input's value (relu, log, abs).
inline constexpr Reads kReadsFirstInput{false, 0b1};

/// Record an op: `value` is its output, `inputs` its differentiable inputs, `backward`
/// its gradient rule. When no input requires grad (or grad is disabled) nothing is
/// recorded and a constant is returned. This is the one entry point every op uses.
Var record(const char* op, Tensor value, VarRefs inputs, BackwardFn backward,
           Reads reads = kReadsAll);
Var record(const char* op, Tensor value, const std::vector<Var>& inputs, BackwardFn backward,
           Reads reads = kReadsAll);

namespace detail {
/// The tape an op on `inputs` records onto now, or nullptr when it records nothing.
Tape* recording_tape(VarRefs inputs);
Tape* recording_tape(const std::vector<Var>& inputs);
/// Second half of record(): anomaly check, links to the inputs, push on the tape.
Var commit(Tape& tape, const char* op, std::shared_ptr<Node> node, VarRefs inputs,
           BackwardFn&& backward, Reads reads);
Var commit(Tape& tape, const char* op, std::shared_ptr<Node> node, const std::vector<Var>& inputs,
           BackwardFn&& backward, Reads reads);

template <class E, class Inputs>
Var record_expression(const char* op, const xt::xexpression<E>& value, const Inputs& inputs,
                      BackwardFn&& backward, Reads reads) {
  Tape* tape = recording_tape(inputs);
  if (!tape) return record(op, Tensor(value), inputs, std::move(backward), reads);
  std::shared_ptr<Node> node = detail_acquire_node(*tape);
  // Evaluated into the recycled node's buffer: no allocation when the size repeats. Only a
  // node without one (its value was released) looks in the value cache: computing the
  // shape first costs ~10 ns, which the tape-overhead benchmark's tiny ops would notice.
  if (node->value.size() == 0) shape_value(node->value, value.derived_cast().shape());
  xt::noalias(node->value) = value;
  return commit(*tape, op, std::move(node), inputs, std::move(backward), reads);
}
}  // namespace detail

/// record() for an unevaluated xtensor expression (`a.value() * s`): same contract, but the
/// output is evaluated into a recycled buffer instead of a freshly allocated Tensor.
template <class E>
requires(!std::is_same_v<E, Tensor>) Var
    record(const char* op, const xt::xexpression<E>& value, VarRefs inputs, BackwardFn backward,
           Reads reads = kReadsAll) {
  return detail::record_expression(op, value, inputs, std::move(backward), reads);
}
template <class E>
requires(!std::is_same_v<E, Tensor>) Var
    record(const char* op, const xt::xexpression<E>& value, const std::vector<Var>& inputs,
           BackwardFn backward, Reads reads = kReadsAll) {
  return detail::record_expression(op, value, inputs, std::move(backward), reads);
}

namespace detail {
template <class Fill, class Inputs>
Var record_filled(const char* op, const Shape& shape, Fill& fill, const Inputs& inputs,
                  BackwardFn&& backward, Reads reads) {
  Tape* tape = recording_tape(inputs);
  if (!tape) {
    Tensor y = Tensor::from_shape(shape);
    fill(y.data());
    return record(op, std::move(y), inputs, std::move(backward), reads);
  }
  std::shared_ptr<Node> node = detail_acquire_node(*tape);
  shape_value(node->value, shape);  // the recycled buffer, or a cached one of this size
  fill(node->value.data());
  return commit(*tape, op, std::move(node), inputs, std::move(backward), reads);
}
}  // namespace detail
/// record() for an op that writes its output itself (copies, joins, permutations):
/// `fill(float* out)` must write every element of a value of shape `shape`. When the op
/// records, the value lives in a node recycled from an earlier step, so a step that repeats
/// the last one allocates (and page-faults) nothing.
template <class Fill>
Var record_filled(const char* op, const Shape& shape, Fill&& fill, VarRefs inputs,
                  BackwardFn backward, Reads reads = kReadsAll) {
  return detail::record_filled(op, shape, fill, inputs, std::move(backward), reads);
}
template <class Fill>
Var record_filled(const char* op, const Shape& shape, Fill&& fill, const std::vector<Var>& inputs,
                  BackwardFn backward, Reads reads = kReadsAll) {
  return detail::record_filled(op, shape, fill, inputs, std::move(backward), reads);
}

/// Reverse-mode pass from `root` (one element, seed 1): fills grad() of every leaf that
/// requires grad. Gradients accumulate until zero_grad().
void backward(const Var& root);
/// Reverse-mode pass from `root` with upstream gradient `seed` (the shape of root).
void backward(const Var& root, const Tensor& seed);

/// Whether every element is finite.
bool all_finite(const Tensor& t);

}  // namespace unroll::autograd
