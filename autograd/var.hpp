#pragma once
// Var: the handle users and ops pass around. Copying a Var copies the handle, not the data.

#include <memory>

#include "autograd/node.hpp"

namespace unroll {

/// A differentiable value: a handle to a tape Node (op output) or a leaf (input or
/// parameter). Leaves persist across tapes, so parameters keep their gradients when the
/// tape is cleared.
class Var {
 public:
  Var() = default;
  /// A leaf holding `value`; `requires_grad` makes backward() accumulate into grad().
  explicit Var(Tensor value, bool requires_grad = false);
  /// A handle to an existing node (used by ops).
  explicit Var(std::shared_ptr<autograd::Node> node) : node_(std::move(node)) {}
  Var(const Var&) = default;
  Var(Var&&) noexcept = default;
  Var& operator=(const Var& other) {
    if (node_ != other.node_) {
      drop();
      node_ = other.node_;
    }
    return *this;
  }
  Var& operator=(Var&& other) noexcept {
    if (this != &other) {
      drop();
      node_ = std::move(other.node_);
    }
    return *this;
  }
  /// Dropping the last Var of a recorded value that no backward reads frees the value: the
  /// tape then holds only what backward needs (a shape suffices for the rest).
  ~Var() { drop(); }

  /// A leaf that requires grad: the form parameters take.
  static Var parameter(Tensor value) { return Var(std::move(value), true); }

  /// False for a default-constructed Var.
  bool defined() const { return node_ != nullptr; }
  /// The forward value.
  const Tensor& value() const;
  /// Mutable access to a leaf's value (optimizers, loaders). Throws for op outputs,
  /// whose values the recorded backward functions depend on.
  Tensor& mutable_value();
  /// The value's shape.
  Shape shape() const;
  /// Rank of the value.
  std::size_t ndim() const;
  /// Extent of `axis`.
  std::size_t dim(std::size_t axis) const;
  /// Number of elements.
  std::size_t size() const;
  /// The single value of a one-element tensor.
  float item() const;

  /// Whether gradients flow to this value.
  bool requires_grad() const;
  /// Whether a gradient has arrived.
  bool has_grad() const;
  /// dL/d this; zeros of the value's shape if no gradient has arrived yet.
  const Tensor& grad() const;
  /// Forget the accumulated gradient (the next backward starts from zero).
  void zero_grad() const;
  /// Keep the gradient of this intermediate after backward passes it (PyTorch retain_grad).
  void retain_grad() const;

  /// A new leaf with a copy of the value and no history: gradients stop here.
  Var detach() const;
  /// backward() from this value, with seed 1 (it must have one element).
  void backward() const;
  /// backward() from this value with upstream gradient `seed` (same shape as the value).
  void backward(const Tensor& seed) const;

  /// The underlying node (nullptr if undefined).
  autograd::Node* node() const { return node_.get(); }
  /// The owning pointer to the node.
  const std::shared_ptr<autograd::Node>& node_ptr() const { return node_; }

 private:
  // The tape holds one reference to a recorded node; this Var is the only other one. Small
  // values stay: the tape recycles them with their node, and freeing and reallocating them
  // would cost more than they hold (tape/overhead: 90 -> 206 ns per op).
  void drop() noexcept {
    if (node_ && node_->value_unread && node_->value.size() > autograd::kKeepValueElements &&
        node_.use_count() == 2)
      node_->release_value();
    node_.reset();
  }

  std::shared_ptr<autograd::Node> node_;
};

}  // namespace unroll
