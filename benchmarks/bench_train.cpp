// Training-step benchmarks on the reference workload of ../shared/design.md, the same as
// ../shared/anchors/torch_rnn_bench.py: input 64, batch 32, sequence 64, one layer, a Linear
// head to 64 classes at every step, mean cross-entropy, forward + backward + one Adam step.
//   train/<model>: tokens_per_second, tape_bytes_per_token (activations held for backward)
//   infer/<model>: the forward pass alone, no tape
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>

#include "nn/transformer_model.hpp"
#include "unroll.hpp"

namespace {

using namespace unroll;
constexpr std::size_t kB = 32, kIn = 64, kClasses = 64;

// An LSTM cell as a user writes it outside the library, from primitive ops; it declares its
// input weights, so the unroller hoists the input projection as it does for the built-in.
class UserLSTMCell : public nn::RecurrentCell {
 public:
  UserLSTMCell(std::size_t in, std::size_t hidden, Generator& gen) : in_(in), hidden_(hidden) {
    const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
    Wx = register_parameter("Wx", nn::init::uniform({4 * hidden, in}, -k, k, gen));
    Wh = register_parameter("Wh", nn::init::uniform({4 * hidden, hidden}, -k, k, gen));
    b = register_parameter("b", nn::init::zeros({4 * hidden}));
    declare_input_projection(Wx, b);
  }
  std::size_t input_size() const override { return in_; }
  std::size_t hidden_size() const override { return hidden_; }
  nn::State initial_state(std::size_t batch) const override {
    return {ops::zeros({batch, hidden_}), ops::zeros({batch, hidden_})};
  }
  nn::State step(const Var& xp, const nn::State& s) override {
    const std::vector<Var> g = ops::chunk(xp + ops::linear(s[0], Wh), 4, 1);
    Var c = ops::sigmoid(g[1]) * s[1] + ops::sigmoid(g[0]) * ops::tanh(g[2]);
    return {ops::sigmoid(g[3]) * ops::tanh(c), c};
  }

 private:
  std::size_t in_, hidden_;
  Var Wx, Wh, b;
};

// A model of the workload: sequence [T, B, 64] -> logits [T, B, 64].
struct Model {
  std::vector<std::shared_ptr<nn::Module>> parts;
  std::function<Var(const Var&)> forward;
  std::vector<Var> parameters() const {
    std::vector<Var> ps;
    for (const auto& p : parts)
      for (const Var& v : p->parameters()) ps.push_back(v);
    return ps;
  }
};

Model recurrent(const std::string& kind, std::size_t H, Generator& gen) {
  struct M {
    std::shared_ptr<nn::RecurrentLayer> rnn;
    std::shared_ptr<nn::Linear> head;
  };
  auto m = std::make_shared<M>();
  nn::RNNOptions o;
  if (kind == "lstm") m->rnn = std::make_shared<nn::LSTM>(kIn, H, o, gen);
  if (kind == "gru") m->rnn = std::make_shared<nn::GRU>(kIn, H, o, gen);
  if (kind == "rnn_tanh") m->rnn = std::make_shared<nn::RNN>(kIn, H, o, gen);
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

Model transformer(Generator& gen) {
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

Model make(const std::string& name, Generator& gen) {
  if (name == "transformer_d128") return transformer(gen);
  const auto cut = name.rfind("_h");
  return recurrent(name.substr(0, cut), std::stoul(name.substr(cut + 2)), gen);
}

void train_step(benchmark::State& state, const std::string& name, std::size_t kT = 64) {
  Generator gen(0);
  Model m = make(name, gen);
  const Tensor x = gen.normal_tensor({kT, kB, kIn});
  IndexTensor y = IndexTensor::from_shape({kT, kB});
  for (auto& v : y) v = static_cast<std::int64_t>(gen.below(kClasses));
  optim::AdamOptions ao;
  ao.lr = 1e-3;
  optim::Adam adam(m.parameters(), ao);
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  std::size_t bytes = 0;
  for (auto _ : state) {
    Var loss = ops::cross_entropy(m.forward(Var(x)), y);
    bytes = tape.value_bytes();
    loss.backward();
    adam.step();
    adam.zero_grad();
    tape.clear();
  }
  state.counters["tokens_per_second"] = benchmark::Counter(
      static_cast<double>(kB * kT), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tape_bytes_per_token"] = static_cast<double>(bytes) / (kB * kT);
}

void infer_step(benchmark::State& state, const std::string& name) {
  const std::size_t kT = 64;
  Generator gen(0);
  Model m = make(name, gen);
  for (auto& p : m.parts) p->eval();
  const Tensor x = gen.normal_tensor({kT, kB, kIn});
  autograd::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(m.forward(Var(x)).value().data());
  state.counters["tokens_per_second"] = benchmark::Counter(
      static_cast<double>(kB * kT), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (const char* name : {"lstm_h64", "lstm_h128", "lstm_h256", "lstm_h512", "gru_h256",
                           "rnn_tanh_h256", "custom_lstm_h256", "transformer_d128"}) {
    const std::string n = name;
    benchmark::RegisterBenchmark(("train/" + n).c_str(),
                                 [n](benchmark::State& s) { train_step(s, n); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("infer/" + n).c_str(),
                                 [n](benchmark::State& s) { infer_step(s, n); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  // Sequence-length scaling: time and activation memory per token as T grows (attention is
  // quadratic in T, recurrence linear).
  for (const char* name : {"lstm_h256", "transformer_d128"})
    for (std::size_t T : {64, 256, 1024}) {
      const std::string n = name;
      benchmark::RegisterBenchmark(("scale/" + n + "/T" + std::to_string(T)).c_str(),
                                   [n, T](benchmark::State& s) { train_step(s, n, T); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  return true;
}();

// One step of a cell on a batch, forward and backward: the per-step cost the unroller pays.
void cell_step(benchmark::State& state, const std::string& kind) {
  Generator gen(0);
  const std::size_t H = 256;
  std::shared_ptr<nn::RecurrentCell> cell;
  if (kind == "lstm") cell = std::make_shared<nn::LSTMCell>(kIn, H, true, gen);
  if (kind == "gru") cell = std::make_shared<nn::GRUCell>(kIn, H, true, gen);
  if (kind == "rnn_tanh")
    cell = std::make_shared<nn::RNNCell>(kIn, H, true, nn::Nonlinearity::Tanh, gen);
  if (kind == "custom_lstm") cell = std::make_shared<UserLSTMCell>(kIn, H, gen);
  const Var x(gen.normal_tensor({kB, kIn}));
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  for (auto _ : state) {
    nn::State s = cell->forward(x, cell->initial_state(kB));
    ops::sum(s[0]).backward();
    tape.clear();
  }
  cell->zero_grad();
}
BENCHMARK_CAPTURE(cell_step, lstm_h256, std::string("lstm"))
    ->Name("cell/lstm_h256")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(cell_step, gru_h256, std::string("gru"))
    ->Name("cell/gru_h256")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(cell_step, rnn_tanh_h256, std::string("rnn_tanh"))
    ->Name("cell/rnn_tanh_h256")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(cell_step, custom_lstm_h256, std::string("custom_lstm"))
    ->Name("cell/custom_lstm_h256")
    ->Unit(benchmark::kMicrosecond);

}  // namespace
