#pragma once
// A Node is one value in the computation: a leaf (input or parameter) or the output of a
// recorded op. Nodes refer to their inputs by raw pointer; the Tape keeps every recorded
// node and every leaf it saw alive, so no chain of shared_ptrs can ever be destroyed
// recursively (100,000-op chains would overflow the stack that way).

#include <cstdint>
#include <functional>
#include <memory>

#include <xtensor/xstorage.hpp>

#include "autograd/tensor.hpp"

namespace unroll::autograd {

struct Node;
class GradSink;

/// Backward of one recorded op: read `self.grad` (dL/d output), `self.value` and the input
/// values, and hand one gradient per input to `sink`. The sink, not the op, accumulates
/// fan-out and reduces broadcast gradients to each input's shape.
using BackwardFn = std::function<void(const Node& self, GradSink& sink)>;

/// A tensor with no elements and no buffer. (A default Tensor is a 0-d scalar and allocates
/// one element: too slow for a field that is reset for every recorded op.)
inline Tensor no_buffer() {
  return Tensor(Tensor::shape_type{0});
}

/// Values up to this many elements are kept even when no backward reads them (see Var).
inline constexpr std::size_t kKeepValueElements = 256;

/// The derivative of a pointwise unary op that its output alone determines, for ops whose
/// backward a consumer's backward can apply on the fly (see GradSink::add_through).
enum class LocalGrad : std::uint8_t {
  None,
  Sigmoid,  ///< dy/dx = y (1 - y)
  Tanh,     ///< dy/dx = 1 - y^2
};

/// One value in the graph: a leaf or a recorded op output, with its gradient and backward.
struct Node {
  /// The forward value.
  Tensor value = no_buffer();
  Tensor grad = no_buffer();  ///< dL/d value, meaningful only when has_grad
  /// `grad` holds a gradient.
  bool has_grad = false;
  bool pending = false;  ///< gradient arrived in the running backward walk, not yet passed on
  /// Gradients flow to this node.
  bool requires_grad = false;
  bool retain_grad = false;  ///< keep `grad` of a non-leaf after backward passes it
  /// Set by sigmoid and tanh: their backward is dx = dy * f'(y), a factor of y alone that a
  /// consumer's backward can fold into the gradient it computes (no pass, no buffer for dy).
  LocalGrad local_grad = LocalGrad::None;
  const char* op = "leaf";       ///< static string: the op that produced this node
  std::size_t tape_pos = 0;      ///< index on its tape (recorded nodes only)
  std::uint64_t pin_epoch = 0;   ///< a leaf is pinned once per tape epoch
  xt::svector<Node*, 3> inputs;  ///< empty for leaves
  BackwardFn backward;           ///< empty for leaves
  /// No backward reads `value` (neither this op's nor a consumer's recorded so far): once no
  /// Var refers to the node, no later op can read it either, and the value is released.
  bool value_unread = false;
  bool value_released = false;  ///< `value` was freed; `released_shape` keeps its shape
  /// The shape of a released value (behind a pointer: most nodes never need it, and a
  /// smaller node is a faster tape; kept for reuse when the node is recycled).
  std::unique_ptr<Tensor::shape_type> released_shape;

  /// The value's shape, also after the value was released.
  const Tensor::shape_type& shape() const {
    return value_released ? *released_shape : value.shape();
  }
  /// Number of elements of the value, also after it was released.
  std::size_t numel() const;
  /// Frees the value, keeping its shape (backward needs shapes, not values, of such nodes).
  void release_value() noexcept;

  /// True for inputs and parameters (no backward function).
  bool is_leaf() const { return !backward; }
  /// Input shapes joined for messages: "[2, 3], [3]".
  std::string input_shapes() const;
};

}  // namespace unroll::autograd
