#pragma once
// Custom ops with PyTorch's autograd::Function contract: forward and backward defined
// together in one class, backward returning one gradient per input.
//
//   struct Cube : unroll::autograd::Function<Cube> {
//     static Tensor forward(FunctionContext& ctx, const TensorList& in) {
//       ctx.save_for_backward({in[0]});
//       return in[0] * in[0] * in[0];
//     }
//     static GradList backward(FunctionContext& ctx, const Tensor& grad_out) {
//       const Tensor& x = ctx.saved(0);
//       return {grad_out * 3.0f * x * x};
//     }
//   };
//   Var y = Cube::apply({x});

#include <memory>
#include <optional>
#include <vector>

#include "autograd/tape.hpp"

namespace unroll::autograd {

/// The input values of a custom op's forward, by reference (no copies).
class TensorList {
 public:
  /// Wraps pointers to the input values (not owned).
  explicit TensorList(std::vector<const Tensor*> items) : items_(std::move(items)) {}
  /// Input value i (bounds-checked).
  const Tensor& operator[](std::size_t i) const { return *items_.at(i); }
  /// Number of inputs.
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<const Tensor*> items_;
};

/// One optional gradient per input; std::nullopt means "no gradient for this input".
using GradList = std::vector<std::optional<Tensor>>;

/// What forward keeps for backward, and which inputs want gradients.
class FunctionContext {
 public:
  /// Keeps `tensors` for backward (replaces any saved before).
  void save_for_backward(std::vector<Tensor> tensors) { saved_ = std::move(tensors); }
  /// Saved tensor i (bounds-checked).
  const Tensor& saved(std::size_t i) const { return saved_.at(i); }
  /// Number of saved tensors.
  std::size_t num_saved() const { return saved_.size(); }
  /// Whether input i requires a gradient.
  bool needs_input_grad(std::size_t i) const { return needs_.at(i); }
  /// Free-form scalars forward may stash (an exponent, a slope, ...).
  std::vector<double> scalars;

  /// Per input: requires_grad (internal, filled by apply()).
  std::vector<bool> needs_;  // filled by apply()

 private:
  std::vector<Tensor> saved_;
};

/// Runs a user backward and hands its gradients to the tape; validates count and shapes.
void dispatch_custom_grads(const char* name, const Node& self, GradSink& sink, GradList grads);

/// CRTP base: Derived provides `static Tensor forward(FunctionContext&, const TensorList&)`
/// and `static GradList backward(FunctionContext&, const Tensor& grad_output)`, and
/// optionally `static constexpr const char* name`.
template <class Derived>
struct Function {
  /// Runs Derived::forward on `inputs` and records Derived::backward on the current tape.
  static Var apply(const std::vector<Var>& inputs) {
    auto ctx = std::make_shared<FunctionContext>();
    std::vector<const Tensor*> values;
    for (const Var& v : inputs) {
      values.push_back(&v.value());
      ctx->needs_.push_back(v.requires_grad());
    }
    Tensor out = Derived::forward(*ctx, TensorList(std::move(values)));
    return record(op_name(), std::move(out), inputs, [ctx](const Node& self, GradSink& sink) {
      dispatch_custom_grads(op_name(), self, sink, Derived::backward(*ctx, self.grad));
    });
  }

 private:
  static const char* op_name() {
    if constexpr (requires { Derived::name; })
      return Derived::name;
    else
      return "custom_function";
  }
};

}  // namespace unroll::autograd
