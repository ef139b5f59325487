#pragma once
// The tape: recorded nodes in creation order. Because an op's inputs always exist before
// the op, the reverse of creation order is a valid backward order: no topological sort,
// and backward is a plain loop (BPTT over an unrolled cell is exactly this loop).

#include <cstdint>
#include <initializer_list>
#include <functional>
#include <vector>

#include "autograd/errors.hpp"
#include "autograd/var.hpp"

namespace unroll::autograd {

/// Receives the gradients a backward function produces, one per input. It accumulates
/// fan-out (an input used twice gets the sum) and reduces a broadcast gradient back to
/// the input's shape, so ops never do either themselves.
class GradSink {
 public:
  explicit GradSink(const Node& self) : self_(self) {}
  /// Whether input i wants a gradient (skip the work when it does not).
  bool needs(std::size_t i) const { return self_.inputs[i]->requires_grad; }
  /// Add `grad` to input i's gradient. `grad` may have the broadcast (output) shape.
  void add(std::size_t i, Tensor grad);
  /// Input i's own gradient buffer, shaped like the input, for ops that accumulate in
  /// place (GEMM with beta). `beta` is 0 when the buffer is fresh (overwrite it
  /// completely) and 1 when it already holds a gradient (add to it).
  Tensor& buffer(std::size_t i, float& beta);

 private:
  const Node& self_;
};

/// Records nodes in creation order; backward() walks them in reverse.
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  ~Tape();

  /// Number of recorded ops.
  std::size_t size() const { return nodes_.size(); }
  /// Drop every recorded op. Vars still held by the user become constants (no history);
  /// parameters and other leaves keep their values and accumulated gradients.
  void clear();

  /// Append a node whose inputs are set; pins leaf inputs for the tape's lifetime.
  void push(std::shared_ptr<Node> node);
  /// Keep a leaf alive until the tape is cleared (once per leaf per epoch).
  void pin(const std::shared_ptr<Node>& leaf);
  /// Reverse walk from `root`, whose gradient has been seeded.
  void run_backward(Node& root);
  bool owns(const Node& n) const {
    return n.tape_pos < nodes_.size() && nodes_[n.tape_pos].get() == &n;
  }

 private:
  std::vector<std::shared_ptr<Node>> nodes_;
  std::vector<std::shared_ptr<Node>> leaves_;  // leaves used by recorded ops, each once
  std::uint64_t epoch_ = next_epoch();
  static std::uint64_t next_epoch();
};

/// The tape ops record onto in this thread (a per-thread default unless a TapeScope is
/// active).
Tape& current_tape();

/// Makes `tape` the current tape for this thread until the scope ends.
class TapeScope {
 public:
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
  explicit AnomalyGuard(bool on = true);
  ~AnomalyGuard();
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

using VarRefs = std::initializer_list<std::reference_wrapper<const Var>>;

/// Record an op: `value` is its output, `inputs` its differentiable inputs, `backward`
/// its gradient rule. When no input requires grad (or grad is disabled) nothing is
/// recorded and a constant is returned. This is the one entry point every op uses.
Var record(const char* op, Tensor value, VarRefs inputs, BackwardFn backward);
Var record(const char* op, Tensor value, const std::vector<Var>& inputs, BackwardFn backward);

/// Reverse-mode pass from `root` (one element, seed 1): fills grad() of every leaf that
/// requires grad. Gradients accumulate until zero_grad().
void backward(const Var& root);
/// Reverse-mode pass from `root` with upstream gradient `seed` (the shape of root).
void backward(const Var& root, const Tensor& seed);

/// Sum `grad` over the axes along which `target` was broadcast to give grad's shape.
/// Throws ShapeError when `target` does not broadcast to grad's shape.
Tensor reduce_to_shape(const Tensor& grad, const Shape& target);
/// Numpy broadcast of two shapes; throws ShapeError naming `op` when incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// Whether every element is finite.
bool all_finite(const Tensor& t);

}  // namespace unroll::autograd
