// Google Benchmark's main, plus the one setting every suite depends on: the thread count.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "autograd/threads.hpp"

int main(int argc, char** argv) {
  // Figures are single-threaded unless UNROLL_NUM_THREADS says otherwise (also OpenBLAS).
  const char* env = std::getenv("UNROLL_NUM_THREADS");
  const int threads = env && *env ? std::atoi(env) : 1;
  unroll::set_num_threads(threads > 0 ? threads : 1);
  benchmark::AddCustomContext("unroll_threads", std::to_string(unroll::num_threads()));

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
