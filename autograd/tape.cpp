#include "autograd/tape.hpp"

#include <atomic>
#include <cmath>
#include <utility>

#include <xtensor/xnoalias.hpp>
#include "autograd/grad_buffer.hpp"
#include "autograd/threads.hpp"

namespace unroll::autograd {

using detail::kKeepGradElements;
using detail::mark_empty;
using detail::same_shape;

namespace {
// Dead gradient buffers kept for reuse by the next gradient of their size (Tape::release_grad).
constexpr std::size_t kMaxSpareGrads = 16;
[[maybe_unused]] const bool g_runtime_ready = (init_runtime(), true);
thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly{false};

Tape& default_tape() {
  thread_local Tape tape;
  thread_local const bool threads_applied = (apply_num_threads_here(), true);
  (void)threads_applied;
  return tape;
}
thread_local Tape* t_current = nullptr;

template <class Inputs>
Tape* recording_tape_impl(const Inputs& inputs) {
  if (!t_grad_enabled) return nullptr;
  bool any = false;
  for (const Var& v : inputs) {
    const Node* n = v.node();  // Var::requires_grad(), without the out-of-line call
    if (!n) throw AutogradError("use of an undefined Var (default-constructed)");
    any = any || n->requires_grad;
  }
  return any ? &current_tape() : nullptr;
}

template <class Inputs>
[[gnu::noinline, gnu::cold]] void forward_anomaly_slow(const char* op, const Tensor& value,
                                                       const Inputs& inputs, std::size_t pos) {
  if (all_finite(value)) return;
  std::string shapes;
  for (const Var& v : inputs) shapes += (shapes.empty() ? "" : ", ") + shape_str(v.value());
  throw AnomalyError(std::string("anomaly: forward of op '") + op + "' at tape position " +
                     std::to_string(pos) + " (input shapes " + (shapes.empty() ? "none" : shapes) +
                     ") produced NaN/Inf");
}

template <class Inputs>
inline void check_forward_anomaly(const char* op, const Tensor& value, const Inputs& inputs,
                                  std::size_t pos) {
  if (g_anomaly.load(std::memory_order_relaxed)) forward_anomaly_slow(op, value, inputs, pos);
}

template <class Inputs>
Var commit_impl(Tape& tape, const char* op, std::shared_ptr<Node> node, const Inputs& inputs,
                BackwardFn&& backward, Reads reads) {
  check_forward_anomaly(op, node->value, inputs, tape.size());
  node->requires_grad = true;
  node->op = op;
  node->backward = std::move(backward);
  node->value_unread = !reads.output;
  std::size_t k = 0;
  for (const Var& v : inputs) {
    Node* in = v.node();
    // Inputs past bit 31 count as read: the safe side.
    if (k >= 32 || (reads.inputs >> k & 1u)) in->value_unread = false;
    ++k;
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

template <class Inputs>
Var record_impl(const char* op, Tensor&& value, const Inputs& inputs, BackwardFn&& backward,
                Reads reads) {
  Tape* tape = recording_tape_impl(inputs);
  if (!tape) {
    check_forward_anomaly(op, value, inputs, current_tape().size());
    return Var(std::move(value), false);
  }
  std::shared_ptr<Node> node = detail_acquire_node(*tape);
  node->value = std::move(value);
  return commit_impl(*tape, op, std::move(node), inputs, std::move(backward), reads);
}

}  // namespace

// ---------------------------------------------------------------- Tape

namespace {
std::atomic<std::uint64_t> g_leaf_generation{0};
}  // namespace

std::uint64_t leaf_value_generation() {
  return g_leaf_generation.load(std::memory_order_relaxed);
}

void note_leaf_value_change() {
  g_leaf_generation.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Tape::next_epoch() {
  static std::atomic<std::uint64_t> counter{1};
  return counter.fetch_add(1);
}

Tape::~Tape() {
  clear();
}

void Tape::push(std::shared_ptr<Node> node) {
  node->tape_pos = nodes_.size();
  nodes_.push_back(std::move(node));
}

std::size_t Tape::value_bytes() const {
  std::size_t n = 0;
  for (const auto& node : nodes_) n += node->value.size() * sizeof(float);
  return n;
}

void Tape::pin(const std::shared_ptr<Node>& leaf) {
  if (leaf->pin_epoch == epoch_) return;
  leaf->pin_epoch = epoch_;
  leaves_.push_back(leaf);
}

std::shared_ptr<Node> detail_acquire_node(Tape& tape) {
  if (tape.free_nodes_.empty()) return std::make_shared<Node>();
  std::shared_ptr<Node> n = std::move(tape.free_nodes_.back());
  tape.free_nodes_.pop_back();
  return n;
}

void Tape::take_spare(Tensor& dst, std::size_t n) {
  if (dst.size() != 0) return;
  for (std::size_t j = spare_grads_.size(); j-- > 0;) {
    if (spare_grads_[j].size() != n) continue;
    dst.storage() = std::move(spare_grads_[j]);
    if (j + 1 != spare_grads_.size()) spare_grads_[j] = std::move(spare_grads_.back());
    spare_grads_.pop_back();
    return;  // dst's shape still says empty: the caller resizes it (no allocation)
  }
}

void Tape::release_grad(Tensor& t) {
  if (t.size() == 0) return;
  if (spare_grads_.size() < kMaxSpareGrads) {
    spare_grads_.push_back(std::move(t.storage()));
    mark_empty(t);
  } else {
    t = no_buffer();
  }
}

void Tape::retire_grad(Tensor& t) {
  if (t.size() > kKeepGradElements) release_grad(t);
}

void Tape::clear() {
  // Sever every link first: a user-held output becomes a constant leaf, and no node's
  // destruction can reach another node (so destruction order and depth do not matter).
  // Nodes nobody else holds are recycled, newest first, so the next step's first op gets
  // this step's first node (and a value buffer of the right size).
  if (free_nodes_.capacity() < free_nodes_.size() + nodes_.size())
    free_nodes_.reserve(free_nodes_.size() + nodes_.size());
  for (std::size_t k = nodes_.size(); k-- > 0;) {
    std::shared_ptr<Node>& p = nodes_[k];
    Node& n = *p;
    n.inputs.clear();
    n.backward = nullptr;
    n.requires_grad = false;
    n.has_grad = false;
    n.pending = false;
    n.value_unread = false;    // a constant from now on, or recycled: nothing to release
    n.value_released = false;  // (only nodes no Var holds were released: these are recycled)
    n.local_grad = LocalGrad::None;
    if (p.use_count() == 1) {
      retire_grad(n.grad);
      n.retain_grad = false;
      n.op = "leaf";
      n.tape_pos = 0;
      n.pin_epoch = 0;
      free_nodes_.push_back(std::move(p));
    } else {
      n.grad = no_buffer();  // a constant from now on: it needs no gradient buffer
    }
  }
  nodes_.clear();
  leaves_.clear();
  epoch_ = next_epoch();
}

void Tape::run_backward(Node& root) {
  const bool anomaly = anomaly_mode();
  // Gradients kept by retain_grad from earlier walks are set aside: this walk must pass on
  // only its own gradient, and the kept one is added back at the end (PyTorch accumulates
  // retained gradients across backward calls the same way).
  std::vector<std::pair<Node*, Tensor>> kept;
  for (std::size_t k = 0; k < root.tape_pos; ++k) {
    Node& n = *nodes_[k];
    if (n.retain_grad && n.has_grad && !n.pending) {
      kept.emplace_back(&n, std::move(n.grad));
      n.grad = no_buffer();
      n.has_grad = false;
    }
  }
  auto restore_kept = [&kept] {
    for (auto& [n, g] : kept) {
      if (n->has_grad)
        xt::noalias(n->grad) += g;
      else
        n->grad = std::move(g);
      n->has_grad = true;
    }
  };
  std::size_t i = root.tape_pos + 1;
  try {
    while (i-- > 0) {
      Node& n = *nodes_[i];
      // Only gradients that arrived in this walk move on: a gradient kept from an earlier
      // backward (retain_grad) must not be propagated a second time.
      if (!n.pending) continue;
      n.pending = false;
      GradSink sink(n, this, !anomaly);
      n.backward(n, sink);
      // Intermediate gradients (the root's too) are dead once passed on; freeing them
      // keeps peak memory at the tape's activations, not twice that.
      const bool dead = !n.retain_grad;
      if (sink.deferred_) sink.flush(dead);
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
      if (dead) {
        if (n.grad.size() > kKeepGradElements) release_grad(n.grad);
        n.has_grad = false;
      }
    }
    finish_deferred(true, anomaly);
    restore_kept();
  } catch (...) {
    finish_deferred(false, false);
    // Abandoned walk: drop the partial gradients below, so the next backward starts clean.
    for (std::size_t k = 0; k <= i && k < nodes_.size(); ++k) {
      Node& n = *nodes_[k];
      n.pending = false;
      if (!n.retain_grad) n.has_grad = false;
    }
    for (auto& [n, g] : kept) n->has_grad = false;  // the partial walk's part is dropped
    restore_kept();
    throw;
  }
}

void Tape::finish_deferred(bool keep, bool anomaly) {
  const std::size_t used = deferred_used_;
  deferred_used_ = 0;  // first: a throw below must not leave entries behind
  if (!keep) return;
  for (std::size_t k = 0; k < used; ++k) {
    DeferredWeightGrad& d = deferred_[k];
    Node& w = *d.leaf;
    float beta = 1.0f;
    if (!w.has_grad) {  // as GradSink::fresh: reuse the leaf's buffer from the last step
      if (w.grad.size() != w.value.size()) {
        release_grad(w.grad);
        take_spare(w.grad, w.value.size());
      }
      if (!same_shape(w.grad.shape(), w.value.shape())) w.grad.resize(w.value.shape());
      w.has_grad = true;
      beta = 0.0f;
    }
    d.finish(d.g.data(), d.x.data(), d.rows, d.out, d.in, beta, w.grad.data());
    if (anomaly && !all_finite(w.grad))
      throw AnomalyError(
          "anomaly: backward of a weight-gradient product (linear) produced "
          "NaN/Inf in the gradient of a parameter of shape " +
          shape_str(w.value));
  }
}

Tape& current_tape() {
  return t_current ? *t_current : default_tape();
}

TapeScope::TapeScope(Tape& tape) : previous_(t_current) {
  apply_num_threads_here();
  t_current = &tape;
}
TapeScope::~TapeScope() {
  t_current = previous_;
}

bool grad_enabled() {
  return t_grad_enabled;
}
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) {
  t_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  t_grad_enabled = previous_;
}

void set_anomaly_mode(bool on) {
  g_anomaly.store(on);
}
bool anomaly_mode() {
  return g_anomaly.load(std::memory_order_relaxed);
}
AnomalyGuard::AnomalyGuard(bool on) : previous_(anomaly_mode()) {
  set_anomaly_mode(on);
}
AnomalyGuard::~AnomalyGuard() {
  set_anomaly_mode(previous_);
}

// ---------------------------------------------------------------- record / backward

Var record(const char* op, Tensor value, VarRefs inputs, BackwardFn backward, Reads reads) {
  return record_impl(op, std::move(value), inputs, std::move(backward), reads);
}

Var record(const char* op, Tensor value, const std::vector<Var>& inputs, BackwardFn backward,
           Reads reads) {
  return record_impl(op, std::move(value), inputs, std::move(backward), reads);
}

namespace detail {
Tape* recording_tape(VarRefs inputs) {
  return recording_tape_impl(inputs);
}
Tape* recording_tape(const std::vector<Var>& inputs) {
  return recording_tape_impl(inputs);
}
Var commit(Tape& tape, const char* op, std::shared_ptr<Node> node, VarRefs inputs,
           BackwardFn&& backward, Reads reads) {
  return commit_impl(tape, op, std::move(node), inputs, std::move(backward), reads);
}
Var commit(Tape& tape, const char* op, std::shared_ptr<Node> node, const std::vector<Var>& inputs,
           BackwardFn&& backward, Reads reads) {
  return commit_impl(tape, op, std::move(node), inputs, std::move(backward), reads);
}
}  // namespace detail

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
  // Checked before seeding: a refused backward must not leave the seed in the root's gradient.
  Tape& tape = current_tape();
  if (!r.is_leaf() && !tape.owns(r))
    throw AutogradError(
        "backward: the tensor is not on the current tape (recorded under "
        "another TapeScope or on another thread)");
  if (r.has_grad) {
    xt::noalias(r.grad) += seed;
  } else {
    r.grad = seed;
    r.has_grad = true;
  }
  if (r.is_leaf()) return;
  r.pending = true;
  tape.run_backward(r);
}

bool all_finite(const Tensor& t) {
  const float* p = t.data();
  for (std::size_t i = 0, n = t.size(); i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

}  // namespace unroll::autograd
