#pragma once
// The reference training workload of the benchmarks (bench_train.cpp) and the soak run
// (soak.cpp): input 64, batch 32, one layer, a Linear head to 64 classes at every step,
// mean cross-entropy, Adam. The same as ../shared/anchors/torch_rnn_bench.py.

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fused_lstm.hpp"
#include "nn/transformer_model.hpp"
#include "unroll.hpp"

namespace unroll::bench {

/// The workload's batch, input features and output classes.
inline constexpr std::size_t kB = 32, kIn = 64, kClasses = 64;

/// An LSTM cell as a user writes it outside the library, from primitive ops; it declares its
/// input weights, so the unroller applies the input projection as it does for the built-in.
class UserLSTMCell : public nn::RecurrentCell {
 public:
  /// Wx [4H, in], Wh [4H, H] ~ U(-1/sqrt(H), 1/sqrt(H)), b [4H] = 0.
  UserLSTMCell(std::size_t in, std::size_t hidden, Generator& gen) : in_(in), hidden_(hidden) {
    const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
    Wx = register_parameter("Wx", nn::init::uniform({4 * hidden, in}, -k, k, gen));
    Wh = register_parameter("Wh", nn::init::uniform({4 * hidden, hidden}, -k, k, gen));
    b = register_parameter("b", nn::init::zeros({4 * hidden}));
    declare_input_projection(Wx, b);
  }
  /// Input features.
  std::size_t input_size() const override { return in_; }
  /// H.
  std::size_t hidden_size() const override { return hidden_; }
  /// {h, c}, both zeros [batch, H].
  nn::State initial_state(std::size_t batch) const override {
    return {ops::zeros({batch, hidden_}), ops::zeros({batch, hidden_})};
  }
  /// Gates i|f|g|o = xp + h Wh^T; c' = f c + i g; h' = o tanh(c').
  nn::State step(const Var& xp, const nn::State& s) override {
    const std::vector<Var> g = ops::chunk(xp + ops::linear(s[0], Wh), 4, 1);
    Var c = ops::sigmoid(g[1]) * s[1] + ops::sigmoid(g[0]) * ops::tanh(g[2]);
    return {ops::sigmoid(g[3]) * ops::tanh(c), c};
  }

  /// The parameters, public as a user's own cell would have them.
  Var Wx, Wh, b;

 private:
  std::size_t in_, hidden_;
};

/// The fusion ceiling (fused_lstm.hpp): the user's cell with its element-wise stage as one
/// hand-written node and h Wh^T + xp in one GEMM, as the built-in LSTM computes it.
class FusedLSTMCell : public UserLSTMCell {
 public:
  using UserLSTMCell::UserLSTMCell;
  /// {h', c'} = fused_lstm_pointwise(xp + h Wh^T, c), split in two.
  nn::State step(const Var& xp, const nn::State& s) override {
    const std::vector<Var> hc =
        ops::chunk(fused_lstm_pointwise(ops::add_linear(xp, s[0], Wh), s[1]), 2, 1);
    return {hc[0], hc[1]};
  }
};

/// A model of the workload: sequence [T, B, 64] -> logits [T, B, 64].
struct Model {
  /// The modules holding the parameters (kept alive by `forward` too).
  std::vector<std::shared_ptr<nn::Module>> parts;
  /// x [T, B, 64] -> logits [T, B, 64], recorded on the current tape.
  std::function<Var(const Var&)> forward;
  /// Every parameter of every part.
  std::vector<Var> parameters() const {
    std::vector<Var> ps;
    for (const auto& p : parts)
      for (const Var& v : p->parameters()) ps.push_back(v);
    return ps;
  }
};

/// One recurrent layer (kind "lstm", "gru", "rnn_tanh", "custom_lstm" or "fused_lstm") of
/// width H and the Linear head.
inline Model recurrent(const std::string& kind, std::size_t H, Generator& gen) {
  struct M {
    std::shared_ptr<nn::RecurrentLayer> rnn;
    std::shared_ptr<nn::Linear> head;
  };
  auto m = std::make_shared<M>();
  nn::RNNOptions o;
  if (kind == "lstm") m->rnn = std::make_shared<nn::LSTM>(kIn, H, o, gen);
  if (kind == "gru") m->rnn = std::make_shared<nn::GRU>(kIn, H, o, gen);
  if (kind == "rnn_tanh") m->rnn = std::make_shared<nn::RNN>(kIn, H, o, gen);
  if (kind == "fused_lstm")
    m->rnn = std::make_shared<nn::RecurrentLayer>(
        [&](std::size_t in, std::size_t, bool) {
          return std::make_shared<FusedLSTMCell>(in, H, gen);
        },
        kIn, nn::RecurrentOptions{}, gen);
  if (kind == "custom_lstm")
    m->rnn = std::make_shared<nn::RecurrentLayer>(
        [&](std::size_t in, std::size_t, bool) {
          return std::make_shared<UserLSTMCell>(in, H, gen);
        },
        kIn, nn::RecurrentOptions{}, gen);
  m->head = std::make_shared<nn::Linear>(H, kClasses, true, gen);
  return {{m->rnn, m->head},
          [m](const Var& x) { return m->head->forward(m->rnn->forward(x).output); }};
}

/// The Transformer row of the workload (d_model 128, one causal post-norm layer).
inline Model transformer(Generator& gen) {
  // PyTorch's anchor: Linear 64 -> 128, one post-norm encoder layer (4 heads, feed-forward
  // 512, relu, no dropout) with a causal mask, no positional encoding, Linear head.
  nn::TransformerSequenceModelOptions t;
  t.input_size = kIn;
  t.output_size = kClasses;
  t.d_model = 128;
  t.nhead = 4;
  t.num_layers = 1;
  t.dim_feedforward = 512;
  t.dropout = 0.0f;
  t.activation = nn::FeedForwardActivation::ReLU;
  t.norm_first = false;
  t.causal = true;
  t.positions = nn::PositionKind::None;
  auto m = std::make_shared<nn::TransformerSequenceModel>(t, gen);
  // The anchor is time-major; the model is batch-first, so transpose in and out (two copies
  // of [T, B, *], counted in the figure).
  return {{m},
          [m](const Var& x) { return ops::transpose(m->forward(ops::transpose(x, 0, 1)), 0, 1); }};
}

/// A model by benchmark name: "lstm_h256", "gru_h256", "custom_lstm_h256", "transformer_d128".
inline Model make(const std::string& name, Generator& gen) {
  if (name == "transformer_d128") return transformer(gen);
  const auto cut = name.rfind("_h");
  return recurrent(name.substr(0, cut), std::stoul(name.substr(cut + 2)), gen);
}

/// A training run of the workload: model `name` (see make()), one fixed batch x [T, B, 64]
/// ~ N(0, 1) with uniform random targets y [T, B], Adam with lr 1e-3.
struct TrainingRun {
  Model model;       ///< the model being trained
  Tensor x;          ///< inputs [T, B, 64]
  IndexTensor y;     ///< class targets [T, B]
  optim::Adam adam;  ///< over model.parameters()

  /// Draws the model, then x and y, from `gen` (the benchmark's order).
  TrainingRun(const std::string& name, std::size_t T, Generator& gen)
      : model(make(name, gen)),
        x(gen.normal_tensor({T, kB, kIn})),
        y(targets(T, gen)),
        adam(model.parameters(), optim::AdamOptions{.lr = 1e-3}) {}

  /// Mean cross-entropy of the model on (x, y), recorded on the current tape.
  Var loss() { return ops::cross_entropy(model.forward(Var(x)), y); }
  /// After loss().backward(): one Adam step, then the gradients are zeroed.
  void update() {
    adam.step();
    adam.zero_grad();
  }

 private:
  static IndexTensor targets(std::size_t T, Generator& gen) {
    IndexTensor y = IndexTensor::from_shape({T, kB});
    for (auto& v : y) v = static_cast<std::int64_t>(gen.below(kClasses));
    return y;
  }
};

}  // namespace unroll::bench
