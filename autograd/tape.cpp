#include "autograd/tape.hpp"

#include <atomic>
#include <cmath>

#include <xtensor/xnoalias.hpp>
#include "autograd/threads.hpp"
#include <xtensor/xbuilder.hpp>

namespace unroll::autograd {

namespace {
[[maybe_unused]] const bool g_runtime_ready = (init_runtime(), true);
thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly{false};

Tape& default_tape() {
  thread_local Tape tape;
  return tape;
}
thread_local Tape* t_current = nullptr;

template <class Inputs>
Var record_impl(const char* op, Tensor&& value, const Inputs& inputs, BackwardFn&& backward) {
  Tape& tape = current_tape();
  bool any = false;
  if (t_grad_enabled)
    for (const Var& v : inputs) any = any || v.requires_grad();
  if (g_anomaly.load(std::memory_order_relaxed) && !all_finite(value)) {
    std::string shapes;
    for (const Var& v : inputs) shapes += (shapes.empty() ? "" : ", ") + shape_str(v.value());
    throw AnomalyError(std::string("anomaly: forward of op '") + op + "' at tape position " +
                       std::to_string(tape.size()) + " (input shapes " +
                       (shapes.empty() ? "none" : shapes) + ") produced NaN/Inf");
  }
  if (!any) return Var(std::move(value), false);

  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  node->requires_grad = true;
  node->op = op;
  node->backward = std::move(backward);
  for (const Var& v : inputs) {
    Node* in = v.node();
    if (!in->is_leaf() && !tape.owns(*in))
      throw AutogradError(std::string(op) +
                          ": an input was recorded on another tape; detach() it or record "
                          "both on the same tape");
    node->inputs.push_back(in);
    // Leaves are not on the tape; pin them so a temporary leaf outlives backward.
    if (in->is_leaf()) tape.pin(v.node_ptr());
  }
  tape.push(node);
  return Var(std::move(node));
}
}  // namespace

// ---------------------------------------------------------------- GradSink

void GradSink::add(std::size_t i, Tensor grad) {
  Node& in = *self_.inputs[i];
  if (!in.requires_grad) return;
  if (grad.shape() != in.value.shape()) {
    try {
      grad = reduce_to_shape(grad, shape_of(in.value));
    } catch (const ShapeError& e) {
      throw AutogradError(std::string("backward of '") + self_.op + "': gradient for input " +
                          std::to_string(i) + " has shape " + shape_str(grad) +
                          ", which does not reduce to the input's shape " +
                          shape_str(in.value));
    }
  }
  if (!in.has_grad) {
    in.grad = std::move(grad);
    in.has_grad = true;
  } else {
    xt::noalias(in.grad) += grad;
  }
}

Tensor& GradSink::buffer(std::size_t i, float& beta) {
  Node& in = *self_.inputs[i];
  if (!in.has_grad) {
    if (in.grad.shape() != in.value.shape()) in.grad.resize(in.value.shape());
    in.has_grad = true;
    beta = 0.0f;
  } else {
    beta = 1.0f;
  }
  return in.grad;
}

// ---------------------------------------------------------------- Tape

std::uint64_t Tape::next_epoch() {
  static std::atomic<std::uint64_t> counter{1};
  return counter.fetch_add(1);
}

Tape::~Tape() { clear(); }

void Tape::push(std::shared_ptr<Node> node) {
  node->tape_pos = nodes_.size();
  nodes_.push_back(std::move(node));
}

void Tape::pin(const std::shared_ptr<Node>& leaf) {
  if (leaf->pin_epoch == epoch_) return;
  leaf->pin_epoch = epoch_;
  leaves_.push_back(leaf);
}

void Tape::clear() {
  // Sever every link first: a user-held output becomes a constant leaf, and no node's
  // destruction can reach another node (so destruction order and depth do not matter).
  for (auto& n : nodes_) {
    n->inputs.clear();
    n->backward = nullptr;
    n->requires_grad = false;
    n->has_grad = false;
    n->grad = Tensor();
  }
  nodes_.clear();
  leaves_.clear();
  epoch_ = next_epoch();
}

void Tape::run_backward(Node& root) {
  const bool anomaly = anomaly_mode();
  for (std::size_t i = root.tape_pos + 1; i-- > 0;) {
    Node& n = *nodes_[i];
    if (!n.has_grad) continue;
    GradSink sink(n);
    n.backward(n, sink);
    if (anomaly) {
      for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const Node& in = *n.inputs[k];
        if (in.requires_grad && in.has_grad && !all_finite(in.grad))
          throw AnomalyError(std::string("anomaly: backward of op '") + n.op +
                             "' at tape position " + std::to_string(i) + " (input shapes " +
                             n.input_shapes() + ") produced NaN/Inf in the gradient of input " +
                             std::to_string(k));
      }
    }
    // Intermediate gradients are dead once passed on; freeing them keeps peak memory at
    // the tape's activations, not twice that.
    if (&n != &root && !n.retain_grad) {
      n.grad = Tensor();
      n.has_grad = false;
    }
  }
}

Tape& current_tape() { return t_current ? *t_current : default_tape(); }

TapeScope::TapeScope(Tape& tape) : previous_(t_current) { t_current = &tape; }
TapeScope::~TapeScope() { t_current = previous_; }

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

void set_anomaly_mode(bool on) { g_anomaly.store(on); }
bool anomaly_mode() { return g_anomaly.load(std::memory_order_relaxed); }
AnomalyGuard::AnomalyGuard(bool on) : previous_(anomaly_mode()) { set_anomaly_mode(on); }
AnomalyGuard::~AnomalyGuard() { set_anomaly_mode(previous_); }

// ---------------------------------------------------------------- record / backward

Var record(const char* op, Tensor value, VarRefs inputs, BackwardFn backward) {
  return record_impl(op, std::move(value), inputs, std::move(backward));
}

Var record(const char* op, Tensor value, const std::vector<Var>& inputs, BackwardFn backward) {
  return record_impl(op, std::move(value), inputs, std::move(backward));
}

void backward(const Var& root) {
  if (!root.defined()) throw AutogradError("backward: undefined Var");
  if (root.size() != 1)
    throw ShapeError("backward: an implicit seed needs a one-element tensor, got shape " +
                     shape_str(root.value()) + "; pass a seed of that shape instead");
  Tensor seed = xt::ones_like(root.value());
  backward(root, seed);
}

void backward(const Var& root, const Tensor& seed) {
  if (!root.defined()) throw AutogradError("backward: undefined Var");
  Node& r = *root.node();
  if (!r.requires_grad)
    throw AutogradError(
        "backward: the tensor does not require grad (no input of its computation requires "
        "grad, it was computed under NoGradGuard, or its tape was cleared)");
  if (seed.shape() != r.value.shape())
    throw ShapeError("backward: seed has shape " + shape_str(seed) + ", expected " +
                     shape_str(r.value));
  if (r.has_grad)
    xt::noalias(r.grad) += seed;
  else {
    r.grad = seed;
    r.has_grad = true;
  }
  if (r.is_leaf()) return;
  Tape& tape = current_tape();
  if (!tape.owns(r))
    throw AutogradError("backward: the tensor is not on the current tape (recorded under "
                        "another TapeScope or on another thread)");
  tape.run_backward(r);
}

// ---------------------------------------------------------------- broadcasting

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::size_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const std::size_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " do not broadcast (axis " + std::to_string(i) + ": " +
                       std::to_string(da) + " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor reduce_to_shape(const Tensor& grad, const Shape& target) {
  const Shape g = shape_of(grad);
  if (g == target) return grad;
  const std::size_t r = g.size();
  if (target.size() > r)
    throw ShapeError("reduce_to_shape: cannot reduce " + shape_str(g) + " to " + shape_str(target));
  // Stride of each grad axis in the target: 0 on the axes being summed away.
  const std::size_t lead = r - target.size();
  std::vector<std::size_t> ts(r, 0);
  std::size_t stride = 1;
  for (std::size_t i = r; i-- > lead;) {
    const std::size_t t = target[i - lead];
    if (t != g[i] && t != 1)
      throw ShapeError("reduce_to_shape: cannot reduce " + shape_str(g) + " to " +
                       shape_str(target));
    ts[i] = (t == g[i]) ? stride : 0;
    stride *= t;
  }
  Tensor out = xt::zeros<float>(target);
  if (grad.size() == 0) return out;
  // Walk grad in row-major order with an odometer over the outer axes; the innermost axis
  // is a contiguous run that either maps element-wise (stride 1) or sums into one slot.
  const std::size_t inner = r ? g[r - 1] : 1;
  const std::size_t inner_stride = r ? ts[r - 1] : 0;
  const std::size_t outer = grad.size() / inner;
  std::vector<std::size_t> idx(r, 0);
  std::size_t base = 0;
  const float* src = grad.data();
  float* dst = out.data();
  for (std::size_t o = 0; o < outer; ++o) {
    if (inner_stride)
      for (std::size_t j = 0; j < inner; ++j) dst[base + j] += src[j];
    else {
      float s = 0;
      for (std::size_t j = 0; j < inner; ++j) s += src[j];
      dst[base] += s;
    }
    src += inner;
    for (std::size_t k = r - 1; k-- > 0;) {  // advance the odometer over axes r-2 .. 0
      ++idx[k];
      base += ts[k];
      if (idx[k] < g[k]) break;
      base -= ts[k] * idx[k];
      idx[k] = 0;
    }
  }
  return out;
}

bool all_finite(const Tensor& t) {
  const float* p = t.data();
  for (std::size_t i = 0, n = t.size(); i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

}  // namespace unroll::autograd
