#include "nn/recurrent.hpp"

#include "ops/ops.hpp"

namespace unroll::nn {

RecurrentLayer::RecurrentLayer(const CellFactory& factory, std::size_t input_size,
                               RecurrentOptions opt, Generator& gen)
    : input_size_(input_size), hidden_(0), opt_(opt), gen_(&gen) {
  if (opt.num_layers == 0) throw ShapeError("RecurrentLayer: num_layers must be >= 1, got 0");
  if (!(opt.dropout >= 0.0f && opt.dropout <= 1.0f))
    throw ShapeError("RecurrentLayer: dropout must be in [0, 1], got " +
                     std::to_string(opt.dropout));
  std::size_t in = input_size;
  for (std::size_t l = 0; l < opt.num_layers; ++l) {
    for (std::size_t d = 0; d < directions(); ++d) {
      auto cell = factory(in, l, d == 1);
      if (!cell) throw std::invalid_argument("RecurrentLayer: the cell factory returned null");
      if (cell->input_size() != in)
        throw ShapeError("RecurrentLayer: layer " + std::to_string(l) + " cell takes " +
                         std::to_string(cell->input_size()) + " input features, expected " +
                         std::to_string(in));
      if (hidden_ == 0) hidden_ = cell->hidden_size();
      if (cell->hidden_size() != hidden_)
        throw ShapeError("RecurrentLayer: all cells must share one hidden size; got " +
                         std::to_string(cell->hidden_size()) + " and " + std::to_string(hidden_));
      register_module_suffixed("l" + std::to_string(l) + (d == 1 ? "_reverse" : ""), cell);
      cells_.push_back(std::move(cell));
    }
    in = hidden_ * directions();
  }
}

RecurrentCell& RecurrentLayer::cell(std::size_t layer, bool reverse) {
  const std::size_t i = layer * directions() + (reverse ? 1 : 0);
  if (layer >= opt_.num_layers || (reverse && !opt_.bidirectional))
    throw std::out_of_range("RecurrentLayer::cell: no cell for layer " + std::to_string(layer) +
                            (reverse ? " (reverse)" : ""));
  return *cells_[i];
}

RecurrentOutput RecurrentLayer::forward(const Var& input, const State& initial,
                                        const std::vector<std::size_t>& lengths) {
  if (input.ndim() != 3)
    throw ShapeError(std::string("RecurrentLayer: input must be 3-D ") +
                     (opt_.batch_first ? "[batch, time, features]" : "[time, batch, features]") +
                     ", got " + shape_str(input.value()));
  const std::size_t B = input.dim(opt_.batch_first ? 0 : 1);
  const std::size_t n_cells = cells_.size();
  const std::size_t n_state = cells_[0]->initial_state(1).size();
  if (!initial.empty()) {
    if (initial.size() != n_state)
      throw ShapeError("RecurrentLayer: initial state has " + std::to_string(initial.size()) +
                       " tensors, expected " + std::to_string(n_state));
    const Shape expected{n_cells, B, hidden_};
    for (const Var& s : initial)
      if (s.shape() != expected)
        throw ShapeError("RecurrentLayer: initial state tensor has shape " + shape_str(s.value()) +
                         ", expected " + shape_str(expected) +
                         " [num_layers * directions, batch, hidden]");
  }

  UnrollOptions uopt;
  uopt.batch_first = opt_.batch_first;
  uopt.lengths = lengths;
  uopt.track_state_grads = opt_.track_state_grads;
  const int feature_axis = 2;

  RecurrentOutput result;
  std::vector<State> finals;  // [cell][state tensor]
  Var x = input;
  for (std::size_t l = 0; l < opt_.num_layers; ++l) {
    std::vector<Var> outs;
    for (std::size_t d = 0; d < directions(); ++d) {
      const std::size_t i = l * directions() + d;
      State init;
      for (const Var& s : initial) init.push_back(ops::select(s, 0, i));
      uopt.reverse = d == 1;
      UnrollResult r = unroll(*cells_[i], x, init, uopt);
      outs.push_back(r.outputs);
      finals.push_back(std::move(r.final_state));
      if (opt_.track_state_grads) result.step_states.push_back(std::move(r.step_states));
    }
    x = outs.size() == 1 ? outs[0] : ops::concat(outs, feature_axis);
    if (l + 1 < opt_.num_layers && opt_.dropout > 0.0f)
      x = ops::dropout(x, opt_.dropout, is_training(), *gen_);
  }
  result.output = x;
  for (std::size_t k = 0; k < n_state; ++k) {
    std::vector<Var> per_cell;
    for (const State& f : finals) per_cell.push_back(f[k]);
    result.final_state.push_back(ops::stack(per_cell, 0));
  }
  return result;
}

namespace {
RecurrentOptions layer_options(const RNNOptions& o) {
  RecurrentOptions r;
  r.num_layers = o.num_layers;
  r.bidirectional = o.bidirectional;
  r.batch_first = o.batch_first;
  r.dropout = o.dropout;
  return r;
}
}  // namespace

RNN::RNN(std::size_t in, std::size_t hidden, RNNOptions o, Generator& gen)
    : RecurrentLayer(
          [&](std::size_t i, std::size_t, bool) {
            return std::make_shared<RNNCell>(i, hidden, o.bias, o.nonlinearity, gen);
          },
          in, layer_options(o), gen) {}

LSTM::LSTM(std::size_t in, std::size_t hidden, RNNOptions o, Generator& gen)
    : RecurrentLayer([&](std::size_t i, std::size_t,
                         bool) { return std::make_shared<LSTMCell>(i, hidden, o.bias, gen); },
                     in, layer_options(o), gen) {}

GRU::GRU(std::size_t in, std::size_t hidden, RNNOptions o, Generator& gen)
    : RecurrentLayer([&](std::size_t i, std::size_t,
                         bool) { return std::make_shared<GRUCell>(i, hidden, o.bias, gen); },
                     in, layer_options(o), gen) {}

}  // namespace unroll::nn
