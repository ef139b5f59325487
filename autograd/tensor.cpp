#include "autograd/tensor.hpp"

#include <numeric>

#include "autograd/node.hpp"

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
    out += shape_str(inputs[i]->value);
  }
  return out.empty() ? "none" : out;
}
}  // namespace autograd

}  // namespace unroll
