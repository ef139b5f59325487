#pragma once

namespace unroll {

/// Threads used by unroll and OpenBLAS. Initialised from UNROLL_NUM_THREADS (default 1,
/// which is also what the benchmarks assume); set_num_threads also sets OpenBLAS's count
/// (to 1 in builds with oneDNN, which then threads the large GEMMs on OpenMP).
void set_num_threads(int n);
int num_threads();
/// Makes the calling thread's oneDNN GEMMs use num_threads() OpenMP threads (OpenMP's count is
/// per thread; a thread's default tape and every TapeScope call this, so threads that record
/// ops agree). Does nothing in builds without oneDNN.
void apply_num_threads_here();
/// Applies UNROLL_NUM_THREADS and the allocator settings; called once at start-up.
void init_runtime();

}  // namespace unroll
