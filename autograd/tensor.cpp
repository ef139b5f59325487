#include "autograd/tensor.hpp"

#include <numeric>

#include "autograd/node.hpp"
#include "autograd/value_cache.hpp"

namespace unroll {

Shape shape_of(const Tensor& t) {
  return Shape(t.shape().begin(), t.shape().end());
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

std::string shape_str(const Tensor& t) {
  return shape_str(shape_of(t));
}

std::size_t numel(const Shape& s) {
  return std::accumulate(s.begin(), s.end(), std::size_t{1}, std::multiplies<>());
}

namespace autograd {
std::string Node::input_shapes() const {
  std::string out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i) out += ", ";
    out += shape_str(Shape(inputs[i]->shape().begin(), inputs[i]->shape().end()));
  }
  return out.empty() ? "none" : out;
}

std::size_t Node::numel() const {
  if (!value_released) return value.size();
  std::size_t n = 1;
  for (std::size_t d : *released_shape) n *= d;
  return n;
}

void Node::release_value() noexcept {
  if (released_shape)
    *released_shape = value.shape();
  else
    released_shape = std::make_unique<Tensor::shape_type>(value.shape());
  value_released = true;
  cache_value_buffer(value);  // the next op output of this size reuses the buffer
}
}  // namespace autograd

}  // namespace unroll
