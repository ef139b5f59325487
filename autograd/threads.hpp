#pragma once

namespace unroll {

/// Threads used by unroll and OpenBLAS. Initialised from UNROLL_NUM_THREADS (default 1,
/// which is also what the benchmarks assume); set_num_threads also sets OpenBLAS's count
/// (to 1 in builds with oneDNN, which then threads the large GEMMs).
void set_num_threads(int n);
int num_threads();
/// Applies UNROLL_NUM_THREADS and the allocator settings; called once at start-up.
void init_runtime();

}  // namespace unroll
