#include "distributed/data_parallel.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace unroll::distributed {

namespace {

// Rows [s.begin, s.begin + s.count) of a tensor whose first axis is the batch; tensors
// without one (an unused 0-d or empty field) are returned as they are.
template <class T>
T rows_of(const T& t, BatchSlice s, const char* field) {
  if (t.dimension() == 0 || t.size() == 0) return t;
  const std::size_t rows = t.shape()[0];
  if (s.begin + s.count > rows)
    throw std::invalid_argument(std::string("slice_batch: ") + field + " has " +
                                std::to_string(rows) + " rows, rows " + std::to_string(s.begin) +
                                ".." + std::to_string(s.begin + s.count - 1) + " requested");
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  const std::size_t row = t.size() / rows;
  shape[0] = s.count;
  T out = T::from_shape(shape);
  std::copy(t.data() + s.begin * row, t.data() + (s.begin + s.count) * row, out.data());
  return out;
}

std::size_t numel_of(const std::vector<Var>& params) {
  std::size_t n = 0;
  for (const Var& p : params) n += p.value().size();
  return n;
}

}  // namespace

BatchSlice batch_slice(std::size_t global_batch, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("batch_slice: rank " + std::to_string(rank) + " of a group of " +
                                std::to_string(size));
  const auto n = static_cast<std::size_t>(size), r = static_cast<std::size_t>(rank);
  if (global_batch < n)
    throw std::invalid_argument("data-parallel: the batch of " + std::to_string(global_batch) +
                                " sequences is smaller than the " + std::to_string(n) +
                                " ranks; give --batch >= " + std::to_string(n));
  const std::size_t base = global_batch / n, extra = global_batch % n;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

tasks::Batch slice_batch(const tasks::Batch& b, BatchSlice s) {
  tasks::Batch out;
  out.tokens = rows_of(b.tokens, s, "tokens");
  out.features = rows_of(b.features, s, "features");
  out.class_targets = rows_of(b.class_targets, s, "class_targets");
  out.value_targets = rows_of(b.value_targets, s, "value_targets");
  out.value_mask = rows_of(b.value_mask, s, "value_mask");
  return out;
}

void flatten_gradients(const std::vector<Var>& params, float scale, std::vector<float>& buffer) {
  buffer.resize(numel_of(params) + params.size() + 1);
  float* d = buffer.data();
  for (const Var& p : params) {
    const std::size_t n = p.value().size();
    if (p.has_grad()) {
      const float* g = p.grad().data();
      for (std::size_t i = 0; i < n; ++i) d[i] = g[i] * scale;
    } else {
      std::fill(d, d + n, 0.0f);
    }
    d += n;
  }
  for (const Var& p : params) *d++ = p.has_grad() ? 1.0f : 0.0f;
  *d = 0.0f;
}

void unflatten_gradients(const std::vector<float>& buffer, const std::vector<Var>& params) {
  const std::size_t n_values = numel_of(params);
  if (buffer.size() != n_values + params.size() + 1)
    throw std::invalid_argument("unflatten_gradients: buffer of " + std::to_string(buffer.size()) +
                                " floats, expected " +
                                std::to_string(n_values + params.size() + 1));
  const float* d = buffer.data();
  const float* flag = buffer.data() + n_values;
  for (const Var& p : params) {
    autograd::Node& node = *p.node();
    const std::size_t n = node.value.size();
    if (*flag++ > 0.0f) {
      if (node.grad.shape() != node.value.shape()) node.grad.resize(node.value.shape());
      std::memcpy(node.grad.data(), d, n * sizeof(float));
      node.has_grad = true;
    } else {
      node.has_grad = false;
    }
    d += n;
  }
}

std::vector<float> flatten_values(const std::vector<Var>& params) {
  std::vector<float> out;
  out.reserve(numel_of(params));
  for (const Var& p : params)
    out.insert(out.end(), p.value().data(), p.value().data() + p.value().size());
  return out;
}

void unflatten_values(const std::vector<float>& buffer, const std::vector<Var>& params) {
  if (buffer.size() != numel_of(params))
    throw std::invalid_argument("unflatten_values: buffer of " + std::to_string(buffer.size()) +
                                " floats, expected " + std::to_string(numel_of(params)));
  const float* d = buffer.data();
  for (const Var& p : params) {
    Tensor& v = Var(p).mutable_value();  // (marks cached copies of the old value stale)
    std::memcpy(v.data(), d, v.size() * sizeof(float));
    d += v.size();
  }
}

DataParallel::DataParallel(Communicator& comm, std::vector<Var> params)
    : comm_(comm), params_(std::move(params)) {}

BatchSlice DataParallel::slice(std::size_t global_batch) const {
  return batch_slice(global_batch, comm_.rank(), comm_.size());
}

void DataParallel::require_same(const std::string& what, double value) {
  double lo = value, hi = value;
  comm_.allreduce(&lo, 1, ReduceOp::Min);
  comm_.allreduce(&hi, 1, ReduceOp::Max);
  if (lo != hi) {
    char buf[160];
    std::snprintf(buf, sizeof buf, " (from %.17g to %.17g; this rank has %.17g)", lo, hi, value);
    throw std::invalid_argument("data-parallel: ranks disagree on " + what + buf +
                                "; start every rank with the same settings");
  }
}

void DataParallel::broadcast_parameters(int root) {
  std::vector<float> values = flatten_values(params_);
  comm_.broadcast(values.data(), values.size(), root);
  unflatten_values(values, params_);
}

float DataParallel::reduce_gradients(double local_terms, double global_terms, float local_loss) {
  const double w = global_terms > 0 ? local_terms / global_terms : 0.0;
  flatten_gradients(params_, static_cast<float>(w), buffer_);
  buffer_.back() = local_loss * static_cast<float>(w);
  comm_.allreduce(buffer_.data(), buffer_.size(), ReduceOp::Sum);
  unflatten_gradients(buffer_, params_);
  return buffer_.back();
}

Tensor DataParallel::gather_rows(const Tensor& local, std::size_t global_rows) {
  const std::size_t rows = local.dimension() ? local.shape()[0] : 0;
  const std::size_t row = rows ? local.size() / rows : 0;
  std::vector<std::size_t> counts(static_cast<std::size_t>(comm_.size()));
  for (int r = 0; r < comm_.size(); ++r)
    counts[static_cast<std::size_t>(r)] = batch_slice(global_rows, r, comm_.size()).count * row;
  if (rows != slice(global_rows).count)
    throw std::invalid_argument("gather_rows: " + std::to_string(rows) + " local rows, expected " +
                                std::to_string(slice(global_rows).count));
  std::vector<std::size_t> shape(local.shape().begin(), local.shape().end());
  shape[0] = global_rows;
  Tensor out = Tensor::from_shape(shape);
  comm_.allgather(local.data(), out.data(), counts);
  return out;
}

bool DataParallel::parameters_identical() {
  const std::vector<float> mine = flatten_values(params_);
  std::vector<float> root = mine;
  comm_.broadcast(root.data(), root.size(), 0);
  double differ = std::memcmp(mine.data(), root.data(), mine.size() * sizeof(float)) != 0 ? 1 : 0;
  comm_.allreduce(&differ, 1, ReduceOp::Max);
  return differ == 0;
}

}  // namespace unroll::distributed
