// Fixed cost of the engine per recorded op: record + backward of tiny ops, so the tensor
// arithmetic is negligible and what remains is node allocation, the backward closure,
// gradient hand-off and tape bookkeeping. DyNet's equivalent figure is ~93 ns per op.
#include <benchmark/benchmark.h>

#include "unroll.hpp"

namespace {

using namespace unroll;

// y = y * 1.0001 + x, repeated: two recorded ops per step, each on `width` floats;
// `ops` recorded ops per tape (10,000 by default; fewer ones fit in cache).
void BM_TapeOverhead(benchmark::State& state) {
  const auto width = static_cast<std::size_t>(state.range(0));
  const int kOps = static_cast<int>(state.range(1));
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var x(xt::ones<float>({width}), true);
  for (auto _ : state) {
    Var y = x;
    for (int i = 0; i < kOps / 2; ++i) y = y * 1.0001f + x;
    y.backward(xt::ones<float>({width}));
    benchmark::DoNotOptimize(x.grad().data());
    tape.clear();
    x.zero_grad();
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(kOps) * static_cast<double>(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kOps);
}
BENCHMARK(BM_TapeOverhead)
    ->Name("tape/overhead")
    ->ArgNames({"width", "ops"})
    ->Args({1, 10000})
    ->Args({4, 10000})
    ->Args({1, 1000})
    ->Unit(benchmark::kMillisecond);

// Forward only (no backward): the recording half of the cost.
void BM_TapeRecordOnly(benchmark::State& state) {
  constexpr int kOps = 10000;
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var x(xt::ones<float>({std::size_t{1}}), true);
  for (auto _ : state) {
    Var y = x;
    for (int i = 0; i < kOps / 2; ++i) y = y * 1.0001f + x;
    benchmark::DoNotOptimize(y.value().data());
    tape.clear();
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(kOps) * static_cast<double>(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TapeRecordOnly)->Name("tape/record_only")->Unit(benchmark::kMillisecond);

}  // namespace
