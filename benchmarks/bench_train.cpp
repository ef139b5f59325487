// Training-step benchmarks on the reference workload of ../shared/design.md, the same as
// ../shared/anchors/torch_rnn_bench.py: input 64, batch 32, sequence 64, one layer, a Linear
// head to 64 classes at every step, mean cross-entropy, forward + backward + one Adam step.
//   train/<model>: tokens_per_second, tape_bytes_per_token (activations held for backward)
//   infer/<model>: the forward pass alone, no tape
//   ceiling/fused_lstm_h<H>: train/lstm_h<H> with a hand-fused element-wise stage
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>

#include "unroll.hpp"
#include "workload.hpp"

namespace {

using namespace unroll;
using namespace unroll::bench;

void train_step(benchmark::State& state, const std::string& name, std::size_t kT = 64) {
  Generator gen(0);
  TrainingRun run(name, kT, gen);
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  std::size_t bytes = 0;
  // Two untimed steps first, as compare_pytorch.py gives PyTorch: Google Benchmark calls this
  // function once per trial run, and a step on a fresh tape first-touches (page-faults) every
  // buffer that later steps recycle.
  for (int warm = 0; warm < 2; ++warm) {
    run.loss().backward();
    run.update();
    tape.clear();
  }
  for (auto _ : state) {
    Var loss = run.loss();
    bytes = tape.value_bytes();
    loss.backward();
    run.update();
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
  // The fusion ceiling (fused_lstm.hpp): not a PyTorch row, a measuring stick for the LSTMs.
  for (const char* name : {"fused_lstm_h256", "fused_lstm_h512"}) {
    const std::string n = name;
    benchmark::RegisterBenchmark(("ceiling/" + n).c_str(),
                                 [n](benchmark::State& s) { train_step(s, n); })
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
