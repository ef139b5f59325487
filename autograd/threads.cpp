// Kept apart from xtensor-blas: <cblas.h> and xlinalg.hpp cannot share a translation unit.
#include "autograd/threads.hpp"

#include <cblas.h>
#include <malloc.h>
#ifdef UNROLL_HAVE_ONEDNN
#include <omp.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace unroll {

namespace {
int g_threads = 0;

int threads_from_env() {
  const char* s = std::getenv("UNROLL_NUM_THREADS");
  if (!s || !*s) return 1;
  char* end = nullptr;
  const long n = std::strtol(s, &end, 10);
  if (*end != '\0' || n < 1 || n > 1024)
    throw std::invalid_argument(std::string("UNROLL_NUM_THREADS='") + s +
                                "': expected an integer between 1 and 1024");
  return static_cast<int>(n);
}

}  // namespace

// Runs once at start-up (from a static object in tape.cpp, which every program links).
// Two process-wide settings:
//  - the thread count from the environment, applied to OpenBLAS;
//  - glibc's malloc keeps freed pages instead of returning them to the OS: the tape frees
//    and reallocates the same buffer sizes every step, and trimming made each step pay for
//    fresh page faults (measured 13x slower, ../shared/design.md).
void init_runtime() {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  try {
    set_num_threads(threads_from_env());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unroll: %s; using 1 thread\n", e.what());
    set_num_threads(1);
  }
}

void set_num_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("set_num_threads: expected n >= 1, got " + std::to_string(n));
  g_threads = n;
#ifdef UNROLL_HAVE_ONEDNN
  // oneDNN runs every large GEMM on n threads (ops/blas.cpp); OpenBLAS, left with the small
  // ones, stays on one: two thread pools spinning on the same cores slowed each other
  // (LSTM H=512 on 2 threads: 120 ms per step with both pools, 107-114 ms with one).
  openblas_set_num_threads(1);
#else
  openblas_set_num_threads(n);
#endif
  apply_num_threads_here();
}

void apply_num_threads_here() {
#ifdef UNROLL_HAVE_ONEDNN
  // oneDNN's GEMMs run on OpenMP, whose thread count is a per-thread setting: a new thread
  // would start at the number of cores. Each thread that runs ops sets its own.
  if (g_threads > 0 && omp_get_max_threads() != g_threads) omp_set_num_threads(g_threads);
#endif
}

int num_threads() {
  return g_threads;
}

}  // namespace unroll
