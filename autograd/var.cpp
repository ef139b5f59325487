#include "autograd/var.hpp"

#include "autograd/errors.hpp"
#include "autograd/tape.hpp"

namespace unroll {

namespace {
autograd::Node& checked(const std::shared_ptr<autograd::Node>& n) {
  if (!n) throw AutogradError("use of an undefined Var (default-constructed)");
  return *n;
}
}  // namespace

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<autograd::Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

const Tensor& Var::value() const {
  return checked(node_).value;
}

Tensor& Var::mutable_value() {
  auto& n = checked(node_);
  if (!n.is_leaf())
    throw AutogradError(std::string("mutable_value: '") + n.op +
                        "' output is recorded on a tape; only leaves may be modified in place");
  autograd::note_leaf_value_change();  // copies derived from the old value are stale now
  return n.value;
}

Shape Var::shape() const {
  return shape_of(value());
}
std::size_t Var::ndim() const {
  return value().dimension();
}
std::size_t Var::dim(std::size_t axis) const {
  const auto& v = value();
  if (axis >= v.dimension())
    throw ShapeError("dim: axis " + std::to_string(axis) + " out of range for shape " +
                     shape_str(v));
  return v.shape()[axis];
}
std::size_t Var::size() const {
  return value().size();
}
float Var::item() const {
  const auto& v = value();
  if (v.size() != 1)
    throw ShapeError("item: expected a one-element tensor, got shape " + shape_str(v));
  return v.data()[0];
}

bool Var::requires_grad() const {
  return checked(node_).requires_grad;
}
bool Var::has_grad() const {
  return checked(node_).has_grad;
}

const Tensor& Var::grad() const {
  auto& n = checked(node_);
  if (!n.has_grad) {
    // Materialise zeros so callers can always read a gradient of the right shape.
    if (n.grad.shape() != n.value.shape()) n.grad.resize(n.value.shape());
    n.grad.fill(0.0f);
  }
  return n.grad;
}

void Var::zero_grad() const {
  checked(node_).has_grad = false;
}
void Var::retain_grad() const {
  checked(node_).retain_grad = true;
}

Var Var::detach() const {
  return Var(value(), false);
}

void Var::backward() const {
  autograd::backward(*this);
}
void Var::backward(const Tensor& seed) const {
  autograd::backward(*this, seed);
}

}  // namespace unroll
