// Google Benchmark's main, plus the one setting every suite depends on: the thread count.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "autograd/threads.hpp"
#include "ops/blas.hpp"

int main(int argc, char** argv) {
  // Figures are single-threaded unless UNROLL_NUM_THREADS says otherwise (also OpenBLAS).
  const char* env = std::getenv("UNROLL_NUM_THREADS");
  const int threads = env && *env ? std::atoi(env) : 1;
  unroll::set_num_threads(threads > 0 ? threads : 1);
  benchmark::AddCustomContext("unroll_threads", std::to_string(unroll::num_threads()));
  // Which GEMM kernels the figures come from: OpenBLAS may not know a new CPU (ops/blas.hpp).
  benchmark::AddCustomContext("openblas_core", unroll::ops::blas::openblas_core());
  benchmark::AddCustomContext("gemm", unroll::ops::blas::openblas_kernel_outdated()
                                          ? "all on oneDNN (OpenBLAS kernel outdated)"
                                      : unroll::ops::blas::tall_products_on_openblas()
                                          ? "by shape: OpenBLAS or oneDNN (tall ones OpenBLAS)"
                                          : "by shape: OpenBLAS or oneDNN (tall ones oneDNN)");

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
