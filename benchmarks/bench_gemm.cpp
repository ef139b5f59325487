// The GEMM back ends on the shapes the reference workload runs (ops/blas.hpp): OpenBLAS
// called directly, the dispatch (oneDNN where it was measured faster, else OpenBLAS), and
// the dispatch with B promised fixed (oneDNN keeps it packed, as for a recurrent weight
// during one pass). GFLOP/s counts 2 M N K per call.
//   gemm/<shape>/openblas | dispatch | dispatch_fixed_b
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <string>
#include <vector>

#include "ops/blas.hpp"
#include "unroll.hpp"

namespace {

using namespace unroll;

struct GemmShape {
  const char* name;
  bool ta, tb;
  std::size_t M, N, K;
  float beta;
};

// B = 32 rows per step, H = 256 / 512 (4 gates), T * B = 2048 rows for whole-sequence ops.
const GemmShape kShapes[] = {
    {"lstm_h256_step_fwd", false, true, 32, 1024, 256, 1.0f},  // h W_hh^T (+ gates)
    {"lstm_h256_step_dh", false, false, 32, 256, 1024, 0.0f},  // dgates W_hh
    {"lstm_h256_step_dW", true, false, 1024, 256, 32, 1.0f},   // dW_hh += dgates^T h
    {"lstm_h512_step_fwd", false, true, 32, 2048, 512, 1.0f},
    {"lstm_h512_step_dh", false, false, 32, 512, 2048, 0.0f},
    {"lstm_h256_input_proj", false, true, 2048, 1024, 64, 0.0f},  // hoisted x W_ih^T
    {"head_h256", false, true, 2048, 64, 256, 0.0f},
    {"transformer_ff1", false, true, 2048, 512, 128, 0.0f},
    {"transformer_ff1_dW", true, false, 512, 128, 2048, 0.0f},
};

std::vector<float> filled(std::size_t n, std::uint64_t seed) {
  Generator g(seed);
  const Tensor t = g.normal_tensor({n});
  return std::vector<float>(t.begin(), t.end());
}

enum class Backend { OpenBlas, Dispatch, DispatchFixedB };

void run(benchmark::State& state, const GemmShape& s, Backend backend) {
  const std::vector<float> A = filled(s.M * s.K, 1), B = filled(s.K * s.N, 2);
  std::vector<float> C(s.M * s.N, 0.0f);
  const int owner = 0;  // stands for the weight's node: fixed for the whole benchmark
  const ops::blas::FixedOperand fixed{&owner, 1, 1};
  const auto lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  for (auto _ : state) {
    if (backend == Backend::OpenBlas)
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
                  static_cast<blasint>(s.M), static_cast<blasint>(s.N), static_cast<blasint>(s.K),
                  1.0f, A.data(), static_cast<blasint>(lda), B.data(), static_cast<blasint>(ldb),
                  s.beta, C.data(), static_cast<blasint>(s.N));
    else
      ops::blas::gemm(s.ta, s.tb, s.M, s.N, s.K, A.data(), B.data(), s.beta, C.data(),
                      backend == Backend::DispatchFixedB ? fixed : ops::blas::FixedOperand{});
    benchmark::DoNotOptimize(C.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * s.M * s.N * s.K * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(backend == Backend::OpenBlas ? "openblas" : ops::blas::last_backend());
}

const bool registered = [] {
  for (const GemmShape& s : kShapes)
    for (auto [suffix, backend] :
         {std::pair{"openblas", Backend::OpenBlas}, std::pair{"dispatch", Backend::Dispatch},
          std::pair{"dispatch_fixed_b", Backend::DispatchFixedB}}) {
      const std::string name = std::string("gemm/") + s.name + "/" + suffix;
      benchmark::RegisterBenchmark(name.c_str(), [&s, backend = backend](benchmark::State& st) {
        run(st, s, backend);
      })->Unit(benchmark::kMicrosecond);
    }
  return true;
}();

}  // namespace
