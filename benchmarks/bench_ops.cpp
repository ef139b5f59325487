// Throughput of single ops as recorded on a tape (the way models call them): element-wise
// ops in GB/s of memory traffic, GEMMs in GFLOP/s, reductions and softmax in GB/s.
// Every iteration records onto a tape that is cleared, so the figures include the engine's
// per-op cost (small next to these sizes).
#include <benchmark/benchmark.h>

#include "unroll.hpp"

namespace {

using namespace unroll;

constexpr std::size_t kRows = 64, kCols = 1024;  // [64, 1024] = 256 KiB of floats

Var random_input(const Shape& s, std::uint64_t seed) {
  Generator g(seed);
  return Var(g.normal_tensor(s), true);
}

// `floats_moved` floats are read or written per call: bytes = 4 * floats_moved.
template <class F>
void run_recorded(benchmark::State& state, std::size_t floats_moved, F&& op) {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  for (auto _ : state) {
    Var y = op();
    benchmark::DoNotOptimize(y.value().data());
    tape.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(floats_moved * sizeof(float)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kRows * kCols));
}

// ------------------------------------------------------------------ element-wise

void BM_Add(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1), b = random_input({kRows, kCols}, 2);
  run_recorded(state, 3 * kRows * kCols, [&] { return ops::add(a, b); });
}
BENCHMARK(BM_Add)->Name("ops/add/64x1024");

void BM_Mul(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1), b = random_input({kRows, kCols}, 2);
  run_recorded(state, 3 * kRows * kCols, [&] { return ops::mul(a, b); });
}
BENCHMARK(BM_Mul)->Name("ops/mul/64x1024");

void BM_AddBroadcastRow(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1), b = random_input({kCols}, 2);
  run_recorded(state, 2 * kRows * kCols, [&] { return ops::add(a, b); });
}
BENCHMARK(BM_AddBroadcastRow)->Name("ops/add_bias/64x1024+1024");

void BM_Tanh(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, 2 * kRows * kCols, [&] { return ops::tanh(a); });
}
BENCHMARK(BM_Tanh)->Name("ops/tanh/64x1024");

void BM_Sigmoid(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, 2 * kRows * kCols, [&] { return ops::sigmoid(a); });
}
BENCHMARK(BM_Sigmoid)->Name("ops/sigmoid/64x1024");

// Forward + backward of tanh: x read, y written, then g and y read, dx written.
void BM_TanhBackward(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  Tensor seed = xt::ones<float>({kRows, kCols});
  run_recorded(state, 5 * kRows * kCols, [&] {
    Var y = ops::tanh(a);
    y.backward(seed);
    return y;
  });
  a.zero_grad();
}
BENCHMARK(BM_TanhBackward)->Name("ops/tanh_fwd_bwd/64x1024");

// ------------------------------------------------------------------ matmul

constexpr std::size_t kM = 32, kK = 512, kN = 2048;

void set_flops(benchmark::State& state, double flops_per_iter) {
  // Printed as FLOP=70G/s: the rate, with Google Benchmark's SI prefix.
  state.counters["FLOP"] = benchmark::Counter(
      flops_per_iter * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Matmul(benchmark::State& state) {
  Var a = random_input({kM, kK}, 1), b = random_input({kK, kN}, 2);
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  for (auto _ : state) {
    Var y = ops::matmul(a, b);
    benchmark::DoNotOptimize(y.value().data());
    tape.clear();
  }
  set_flops(state, 2.0 * kM * kK * kN);
}
BENCHMARK(BM_Matmul)->Name("ops/matmul/32x512x2048")->Unit(benchmark::kMicrosecond);

// Backward is two more GEMMs of the same size (dA = G B^T, dB = A^T G): 3x the flops.
void BM_MatmulBackward(benchmark::State& state) {
  Var a = random_input({kM, kK}, 1), b = random_input({kK, kN}, 2);
  Tensor seed = xt::ones<float>({kM, kN});
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  for (auto _ : state) {
    Var y = ops::matmul(a, b);
    y.backward(seed);
    benchmark::DoNotOptimize(b.grad().data());
    tape.clear();
    a.zero_grad();
    b.zero_grad();
  }
  set_flops(state, 3 * 2.0 * kM * kK * kN);
}
BENCHMARK(BM_MatmulBackward)->Name("ops/matmul_fwd_bwd/32x512x2048")->Unit(benchmark::kMicrosecond);

// ------------------------------------------------------------------ reductions, softmax

void BM_Sum(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, kRows * kCols, [&] { return ops::sum(a); });
}
BENCHMARK(BM_Sum)->Name("ops/sum_all/64x1024");

void BM_SumAxis(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, kRows * kCols, [&] { return ops::sum(a, {1}); });
}
BENCHMARK(BM_SumAxis)->Name("ops/sum_last_axis/64x1024");

void BM_Softmax(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, 2 * kRows * kCols, [&] { return ops::softmax(a, -1); });
}
BENCHMARK(BM_Softmax)->Name("ops/softmax/64x1024");

void BM_LogSoftmax(benchmark::State& state) {
  Var a = random_input({kRows, kCols}, 1);
  run_recorded(state, 2 * kRows * kCols, [&] { return ops::log_softmax(a, -1); });
}
BENCHMARK(BM_LogSoftmax)->Name("ops/log_softmax/64x1024");

}  // namespace
